import type { Command } from 'commander';
import { OrgshieldError } from '@orgshield/errors';
import { loadSnapshot, OrganizationIndex, orgSyncJob, type OrganizationSnapshot } from '@orgshield/accounts';
import { choiceOption, collect, formatTable, note, OUTPUT_FORMATS, parsePair, printJson, type OutputFormat } from './cli-kit.js';
import { runJob, withSession, type CliSession } from './job-runner.js';

async function requireSnapshot(session: CliSession): Promise<OrganizationSnapshot> {
  const snapshot = await loadSnapshot(session.redis, { keyPrefix: session.keyPrefix });
  if (!snapshot) throw new OrgshieldError('NoSnapshot', 'no organization snapshot yet: run "orgshield org sync --wait" first.');
  return snapshot;
}

/** The accounts `org list` prints: all of them (suspended too), under an OU and with tags if asked. */
function listAccounts(snapshot: OrganizationSnapshot, filter: { ou?: string; tags?: [string, string][] }) {
  const index = OrganizationIndex.of(snapshot);
  const accounts = filter.ou ? index.accountsUnder(index.parentId(filter.ou, '--ou')) : snapshot.accounts;
  return accounts
    .filter((a) => (filter.tags ?? []).every(([k, v]) => a.tags[k] === v))
    .sort((a, b) => a.ouPath.localeCompare(b.ouPath) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
    .map(({ id, name, email, status, parentId, ouPath, tags }) => ({ id, name, email, status, parentId, ouPath, tags }));
}

/** `Root` then each OU indented under its parent, with its direct and total account counts. */
export function renderTree(snapshot: OrganizationSnapshot): string {
  const index = OrganizationIndex.of(snapshot);
  const children = new Map<string, typeof snapshot.ous>();
  for (const ou of snapshot.ous) children.set(ou.parentId, [...(children.get(ou.parentId) ?? []), ou]);
  const direct = (id: string) => snapshot.accounts.filter((a) => a.parentId === id).length;
  const lines: string[] = [];
  const walk = (id: string, name: string, prefix: string, childPrefix: string) => {
    lines.push(`${prefix}${name} (${id}): ${direct(id)} accounts here, ${index.accountsUnder(id).length} in all`);
    const kids = (children.get(id) ?? []).sort((a, b) => a.name.localeCompare(b.name));
    kids.forEach((ou, i) => {
      const last = i === kids.length - 1;
      walk(ou.id, ou.name, `${childPrefix}${last ? '└─ ' : '├─ '}`, `${childPrefix}${last ? '   ' : '│  '}`);
    });
  };
  walk(snapshot.root.id, snapshot.root.name, '', '');
  return lines.join('\n') + '\n';
}

export function configureOrgCommand(program: Command): void {
  const org = program.command('org').description('the organization: discover it, list and show its accounts');

  org
    .command('sync')
    .description('walk the organization and store a fresh snapshot (a job on the org queue)')
    .option('--wait', 'wait for the result; runs the job here when no worker is connected')
    .action(async (options: { wait?: boolean }) =>
      withSession(async (session) => {
        const { jobId, result } = await runJob(session, orgSyncJob, { requestedBy: 'cli' }, {
          wait: options.wait === true,
          progress: 'org sync',
        });
        if (!result) {
          note(`org.sync job ${jobId} queued; a worker will run it ("orgshield org list" reads the result).`);
          return;
        }
        note(
          `organization synced: ${result.accounts} accounts (${result.suspended} not active) in ${result.ous} OUs, in ${(result.durationMs / 1000).toFixed(1)} s`,
        );
      }),
    );

  org
    .command('list')
    .description('accounts of the last snapshot')
    .option('--ou <path>', 'only accounts in this OU (a path like Root/Workloads/Prod, or an id) and below')
    .option('--tag <key=value>', 'only accounts with this tag (repeatable: all must match)', collect(parsePair('--tag', 'KEY=VALUE')))
    .option('--output <format>', 'table or json', choiceOption('--output', OUTPUT_FORMATS), 'table' as OutputFormat)
    .action(async (options: { ou?: string; tag?: [string, string][]; output: OutputFormat }) =>
      withSession(async (session) => {
        const snapshot = await requireSnapshot(session);
        const accounts = listAccounts(snapshot, { ou: options.ou, tags: options.tag });
        if (options.output === 'json') return printJson(accounts);
        process.stdout.write(
          formatTable(
            ['ID', 'NAME', 'STATUS', 'OU PATH', 'TAGS'],
            accounts.map((a) => [a.id, a.name, a.status, a.ouPath, Object.entries(a.tags).map(([k, v]) => `${k}=${v}`).join(',')]),
          ),
        );
        note(`${accounts.length} accounts; snapshot taken ${snapshot.fetchedAt}`);
      }),
    );

  org
    .command('show')
    .description('one account of the last snapshot')
    .argument('<account-id>', 'a 12-digit account id')
    .option('--output <format>', 'table or json', choiceOption('--output', OUTPUT_FORMATS), 'table' as OutputFormat)
    .action(async (accountId: string, options: { output: OutputFormat }) =>
      withSession(async (session) => {
        const snapshot = await requireSnapshot(session);
        const { id, name, email, status, parentId, ouPath, tags } = OrganizationIndex.of(snapshot).account(accountId, 'account');
        const account = { id, name, email, status, parentId, ouPath, tags };
        if (options.output === 'json') return printJson(account);
        process.stdout.write(
          formatTable(['FIELD', 'VALUE'], Object.entries(account).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
        );
      }),
    );

  org
    .command('tree')
    .description('the OU tree of the last snapshot with account counts')
    .action(async () =>
      withSession(async (session) => {
        const snapshot = await requireSnapshot(session);
        process.stdout.write(renderTree(snapshot));
      }),
    );
}
