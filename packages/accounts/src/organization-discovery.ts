import {
  DescribeOrganizationCommand,
  OrganizationsClient,
  paginateListAccountsForParent,
  paginateListOrganizationalUnitsForParent,
  paginateListRoots,
  paginateListTagsForResource,
  type Account as AwsAccount,
  type Root as AwsRoot,
} from '@aws-sdk/client-organizations';
import { type AwsClientFactory } from '@orgshield/aws';
import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';
import {
  organizationSnapshotSchema,
  type Account,
  type OrganizationSnapshot,
  type OrganizationalUnit,
  type Root,
  type Tags,
} from './organization-schema.js';
import { WorkPool, WorkTracker } from './work-pool.js';

/** Organizations is a global service served from us-east-1; one region keeps one client and one bucket. */
export const ORGANIZATIONS_REGION = 'us-east-1';

export interface DiscoveryProgress {
  ous: number;
  accounts: number;
  /** OUs and accounts whose tags are read so far (the longest part of a large walk). */
  tagged: number;
}

export interface DiscoveryOptions {
  /**
   * Calls in flight per operation. Each operation has its own rate limit, so each gets its own
   * pool, deep enough that its bucket never waits on a response; default 16.
   */
  concurrency?: number;
  onProgress?: (progress: DiscoveryProgress) => void;
}

/** Organizations answered something a snapshot cannot be made from. */
export class UnexpectedOrganizationError extends OrgshieldError {
  constructor(what: string) {
    super('UnexpectedOrganizationResponse', `Organizations returned ${what}; the snapshot was not saved.`, { exitCode: EXIT_CODES.failed });
  }
}

function required<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new UnexpectedOrganizationError(what);
  return value;
}

/**
 * Reads the whole organization top-down, once: ListRoots, then for every parent its child OUs
 * and its accounts, and the tags of every OU and account, every page (the SDK's paginators). Never
 * DescribeAccount or ListParents per account: a parent's listing already says where each account
 * is. The three list operations run in their own pools at once, so tags are read while the walk
 * is still going down the tree, and every operation's rate limit is used all the time.
 */
export async function discoverOrganization(clients: AwsClientFactory, options: DiscoveryOptions = {}): Promise<OrganizationSnapshot> {
  const organizations = clients.client(OrganizationsClient, { region: ORGANIZATIONS_REGION });
  const concurrency = options.concurrency ?? 16;

  const describe = organizations.send(new DescribeOrganizationCommand({}));
  describe.catch(() => undefined); // awaited after the walk; a failure then is still thrown there
  const roots: AwsRoot[] = [];
  for await (const page of paginateListRoots({ client: organizations }, {})) roots.push(...(page.Roots ?? []));
  const awsRoot = required(roots[0], 'no root from ListRoots');
  const root: Root = { id: required(awsRoot.Id, 'a root without an Id'), name: required(awsRoot.Name, 'a root without a Name') };

  const pathOf = new Map<string, string>([[root.id, root.name]]);
  const ous: OrganizationalUnit[] = [];
  const accounts: Account[] = [];
  const tagsOf = new Map<string, Tags>();
  const progress = () => options.onProgress?.({ ous: ous.length, accounts: accounts.length, tagged: tagsOf.size });

  const tracker = new WorkTracker();
  const ouPool = new WorkPool(concurrency, tracker);
  const accountPool = new WorkPool(concurrency, tracker);
  const tagPool = new WorkPool(concurrency, tracker);

  const readTags = (resourceId: string) =>
    tagPool.add(async () => {
      const tags: Tags = {};
      for await (const page of paginateListTagsForResource({ client: organizations }, { ResourceId: resourceId })) {
        for (const tag of page.Tags ?? []) tags[required(tag.Key, `a tag without a Key on ${resourceId}`)] = tag.Value ?? '';
      }
      tagsOf.set(resourceId, tags);
      progress();
    });

  const walk = (parentId: string) => {
    ouPool.add(async () => {
      for await (const page of paginateListOrganizationalUnitsForParent({ client: organizations }, { ParentId: parentId })) {
        for (const awsOu of page.OrganizationalUnits ?? []) {
          const id = required(awsOu.Id, `an OU without an Id under ${parentId}`);
          const name = required(awsOu.Name, `OU ${id} without a Name`);
          const path = `${pathOf.get(parentId)}/${name}`;
          pathOf.set(id, path);
          ous.push({ id, name, parentId, path, tags: {} });
          readTags(id);
          walk(id);
        }
        progress();
      }
    });
    accountPool.add(async () => {
      for await (const page of paginateListAccountsForParent({ client: organizations }, { ParentId: parentId })) {
        for (const awsAccount of page.Accounts ?? []) {
          const account = toAccount(awsAccount, parentId, required(pathOf.get(parentId), `accounts under unknown parent ${parentId}`));
          accounts.push(account);
          readTags(account.id);
        }
        progress();
      }
    });
  };

  walk(root.id);
  await tracker.done;
  const organization = required((await describe).Organization, 'no Organization from DescribeOrganization');

  const snapshot = {
    fetchedAt: new Date().toISOString(),
    managementAccountId: required(organization.MasterAccountId, 'an organization without a management account id'),
    root,
    ous: ous.map((ou) => ({ ...ou, tags: tagsOf.get(ou.id) ?? {} })).sort((a, b) => a.path.localeCompare(b.path)),
    accounts: accounts.map((account) => ({ ...account, tags: tagsOf.get(account.id) ?? {} })).sort((a, b) => a.id.localeCompare(b.id)),
  };
  const parsed = organizationSnapshotSchema.safeParse(snapshot);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UnexpectedOrganizationError(`a value the API does not allow at ${issue?.path.map(String).join('.')} (${issue?.message})`);
  }
  return parsed.data;
}

function toAccount(awsAccount: AwsAccount, parentId: string, ouPath: string): Account {
  const id = required(awsAccount.Id, `an account without an Id under ${parentId}`);
  return {
    id,
    name: awsAccount.Name ?? '',
    email: awsAccount.Email ?? '',
    status: required(awsAccount.Status ?? awsAccount.State, `account ${id} without a Status`) as Account['status'],
    parentId,
    ouPath,
    tags: {},
    ...(awsAccount.JoinedTimestamp ? { joinedAt: awsAccount.JoinedTimestamp.toISOString() } : {}),
  };
}
