/**
 * Least privilege, derived from the code. Each package that calls AWS exports the list of
 * operations it calls (an `AwsOperationUse[]` next to its index); the CLI puts the lists
 * together and this file turns them into IAM documents, one policy and one trust policy per
 * role orgshield uses. A drift test (apps/cli/src/iam-command.test.ts) scans every package's
 * and app's non-test sources for the SDK commands and paginators they construct and fails when
 * the lists and the code disagree, either way.
 *
 * To add an operation: call it through the client factory as usual, then add one entry to
 * your package's list (service as IAM spells it, operation as the SDK command names it
 * without `Command`, the account it runs in, the role whose permissions it needs, and
 * `actions` only where IAM names the permission differently, as S3 does). A new package's
 * list is added to the CLI's registry (apps/cli/src/aws-operation-registry.ts).
 */

/** Where a call runs: the organization's management account, a delegated administrator account, or any member account. */
export type AwsAccountKind = 'management' | 'delegated-administrator' | 'member';

/** A role orgshield uses; its permissions are the union of the operations that name it. */
export type OrgshieldRoleName = 'organization-reader' | 'firewall-manager-administrator' | 'detective-guardduty-reader' | 'member-account' | 'worker';

export const ORGSHIELD_ROLES: Readonly<Record<OrgshieldRoleName, { account: AwsAccountKind | 'worker'; description: string }>> = {
  'organization-reader': { account: 'management', description: 'reads the organization: roots, OUs, accounts, tags' },
  'firewall-manager-administrator': { account: 'delegated-administrator', description: 'writes and reads Firewall Manager policies and their compliance' },
  'detective-guardduty-reader': { account: 'delegated-administrator', description: 'reads Detective graphs and investigations, GuardDuty findings' },
  'member-account': { account: 'member', description: 'works in each member account: what an investigation reads (EC2, flow logs in S3), DR drills (DRS) and session recording (AppStream, S3, IAM, Secrets Manager)' },
  worker: { account: 'worker', description: "the worker's own identity: assumes the other roles" },
};

export interface AwsOperationUse {
  /** The IAM service prefix: `fms`, `organizations`, `s3`. */
  service: string;
  /** The API operation as the SDK command names it, without `Command`: `PutPolicy`, `ListObjectsV2`. */
  operation: string;
  account: AwsAccountKind;
  role: OrgshieldRoleName;
  /** The IAM actions the call needs where they are not `service:operation` (S3's ListObjectsV2 needs s3:ListBucket). */
  actions?: readonly string[];
}

/** The client factory's own calls: the audit trail's caller identity. */
// The worker's own credentials are the management account's today (MemberCredentials reaches it without a role).
export const AWS_CLIENT_OPERATIONS: readonly AwsOperationUse[] = [{ service: 'sts', operation: 'GetCallerIdentity', account: 'management', role: 'worker' }];

export interface IamStatement {
  Sid?: string;
  Effect: 'Allow';
  Action: string | string[];
  Resource?: string | string[];
  Principal?: Record<string, string>;
  Condition?: Record<string, Record<string, string>>;
}

export interface IamDocument {
  Version: '2012-10-17';
  Statement: IamStatement[];
}

export interface RoleDocuments {
  policy: IamDocument;
  trust: IamDocument;
}

export interface IamRenderOptions {
  /** The account the worker runs in; a placeholder by default, for the operator to fill in. */
  workerAccountId?: string;
  /** Names of the roles as created in IAM; default `orgshield-<role>` (the member role: ORGSHIELD_ROLE_NAME). */
  roleNames?: Partial<Record<OrgshieldRoleName, string>>;
  partition?: string;
}

export const WORKER_ACCOUNT_PLACEHOLDER = 'WORKER_ACCOUNT_ID';
/** The ExternalId is a secret of the deployment: the documents only name where it goes. */
export const EXTERNAL_ID_PLACEHOLDER = 'ORGSHIELD_EXTERNAL_ID';

/** `service:Operation` of a use, as the drift test compares it with the code. */
export function operationKey(use: Pick<AwsOperationUse, 'service' | 'operation'>): string {
  return `${use.service}:${use.operation}`;
}

function iamActions(use: AwsOperationUse): readonly string[] {
  return use.actions ?? [`${use.service}:${use.operation}`];
}

/**
 * The IAM policy and trust policy of every role, from the operations the code calls. Actions
 * are listed one by one (never a wildcard); the worker may assume exactly the other roles;
 * every role but the worker's trusts only the worker's role, and only with the ExternalId.
 */
export function renderIamRoles(uses: readonly AwsOperationUse[], options: IamRenderOptions = {}): Record<OrgshieldRoleName, RoleDocuments> {
  const partition = options.partition ?? 'aws';
  const workerAccount = options.workerAccountId ?? WORKER_ACCOUNT_PLACEHOLDER;
  const roleName = (role: OrgshieldRoleName) => options.roleNames?.[role] ?? `orgshield-${role}`;
  const workerArn = `arn:${partition}:iam::${workerAccount}:role/${roleName('worker')}`;
  const assumable = (Object.keys(ORGSHIELD_ROLES) as OrgshieldRoleName[]).filter((role) => role !== 'worker');
  const roles = {} as Record<OrgshieldRoleName, RoleDocuments>;
  for (const role of Object.keys(ORGSHIELD_ROLES) as OrgshieldRoleName[]) {
    // The worker's AssumeRole is granted on the other roles only, never on Resource "*".
    const own = uses.filter((use) => use.role === role && !(role === 'worker' && operationKey(use) === 'sts:AssumeRole'));
    const statements = statementsFor(own);
    if (role === 'worker') {
      statements.push({
        Sid: 'AssumeOrgshieldRoles',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: [...new Set(assumable.map((other) => `arn:${partition}:iam::*:role/${roleName(other)}`))].sort(),
      });
    }
    roles[role] = {
      policy: { Version: '2012-10-17', Statement: statements },
      trust: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            // The worker's role is assumed by the identity the worker runs as in its own account.
            Principal: { AWS: role === 'worker' ? `arn:${partition}:iam::${workerAccount}:root` : workerArn },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'sts:ExternalId': EXTERNAL_ID_PLACEHOLDER } },
          },
        ],
      },
    };
  }
  return roles;
}

/** One statement per service, its actions sorted, so the documents are stable and reviewable. */
function statementsFor(uses: readonly AwsOperationUse[]): IamStatement[] {
  const byService = new Map<string, Set<string>>();
  for (const use of uses) {
    const actions = byService.get(use.service) ?? new Set<string>();
    for (const action of iamActions(use)) actions.add(action);
    byService.set(use.service, actions);
  }
  return [...byService.keys()].sort().map((service) => ({
    Sid: `${service.charAt(0).toUpperCase()}${service.slice(1)}Calls`.replace(/[^A-Za-z0-9]/g, ''),
    Effect: 'Allow' as const,
    Action: [...(byService.get(service) ?? [])].sort(),
    Resource: '*',
  }));
}
