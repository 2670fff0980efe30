import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { operationKey, renderIamRoles } from '@orgshield/aws';
import { runCli } from '../test/run-cli.js';
import { ORGSHIELD_AWS_OPERATIONS } from './aws-operation-registry.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The non-test TypeScript sources of every package and app: what ships and runs. */
function productSources(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) files.push(path);
    }
  };
  for (const group of ['packages', 'apps']) {
    for (const project of readdirSync(join(repoRoot, group), { withFileTypes: true })) {
      if (project.isDirectory()) {
        const src = join(repoRoot, group, project.name, 'src');
        try {
          walk(src);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
    }
  }
  return files;
}

/** The IAM prefix of an SDK client package: @aws-sdk/client-secrets-manager is secretsmanager. */
function iamService(sdkPackage: string): string {
  return sdkPackage.replace('@aws-sdk/client-', '').replace(/-/g, '');
}

/**
 * Every `service:Operation` the code calls, found in the code itself: the SDK commands it
 * constructs (`new XCommand(`, also through a namespace import) and the paginators it runs
 * (`paginateX(`), each traced to the @aws-sdk/client-* package it is imported from.
 */
export function operationsCalledByCode(): Map<string, string[]> {
  const called = new Map<string, string[]>();
  for (const file of productSources()) {
    const text = readFileSync(file, 'utf8');
    const named = new Map<string, { service: string; name: string }>();
    const namespaces = new Map<string, string>();
    for (const match of text.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['"](@aws-sdk\/client-[a-z0-9-]+)['"]/g)) {
      for (const part of (match[1] ?? '').split(',')) {
        const [imported, local] = part.replace(/^\s*type\s+/, '').split(/\s+as\s+/).map((name) => name.trim());
        if (imported) named.set(local ?? imported, { service: iamService(match[2] ?? ''), name: imported });
      }
    }
    for (const match of text.matchAll(/import\s+\*\s+as\s+(\w+)\s+from\s*['"](@aws-sdk\/client-[a-z0-9-]+)['"]/g)) {
      namespaces.set(match[1] ?? '', iamService(match[2] ?? ''));
    }
    const note = (service: string, operation: string) => {
      const key = `${service}:${operation}`;
      called.set(key, [...(called.get(key) ?? []), relative(repoRoot, file)]);
    };
    for (const match of text.matchAll(/new\s+(?:(\w+)\.)?(\w+)Command\s*\(/g)) {
      const [, namespace, operation = ''] = match;
      if (namespace !== undefined) {
        const service = namespaces.get(namespace);
        if (service) note(service, operation);
        continue;
      }
      const imported = named.get(`${operation}Command`);
      if (imported) note(imported.service, imported.name.replace(/Command$/, ''));
    }
    for (const match of text.matchAll(/\b(?:(\w+)\.)?(paginate\w+)\s*\(/g)) {
      const [, namespace, local = ''] = match;
      const service = namespace !== undefined ? namespaces.get(namespace) : named.get(local)?.service;
      const name = namespace !== undefined ? local : named.get(local)?.name;
      if (service && name) note(service, name.replace(/^paginate/, ''));
    }
  }
  return called;
}

describe('least privilege, derived from the code', () => {
  const registered = new Set(ORGSHIELD_AWS_OPERATIONS.map(operationKey));
  const called = operationsCalledByCode();

  it('registers every operation the code calls (drift test)', () => {
    const unregistered = [...called].filter(([key]) => !registered.has(key)).map(([key, files]) => `${key} (${[...new Set(files)].join(', ')})`);
    expect(unregistered, 'add these to the calling package\'s aws-operations.ts').toEqual([]);
  });

  it('registers nothing the code does not call (drift test)', () => {
    expect([...registered].filter((key) => !called.has(key)), 'remove these from the registry, or the code lost a call').toEqual([]);
  });

  it('finds the calls it should: commands and paginators of several packages and apps', () => {
    // Guards the scanner itself: a scan that finds nothing would make the two tests above pass vacuously.
    expect(called.get('fms:PutPolicy')).toContain('packages/firewall/src/policy-writer.ts');
    expect(called.get('organizations:ListAccountsForParent')).toEqual(['packages/accounts/src/organization-discovery.ts']);
    expect(called.get('organizations:DescribeOrganization')).toEqual(expect.arrayContaining(['packages/accounts/src/organization-discovery.ts']));
    expect(called.get('guardduty:GetFindings')).toEqual(['packages/investigations/src/guardduty-findings.ts', 'packages/investigations/src/guardduty-findings.ts', 'apps/cli/src/demo-command.ts']);
    expect(called.size).toBeGreaterThanOrEqual(30);
  });

  it('gives no member-account role a wildcard action, and every role a trust policy with the ExternalId', () => {
    const roles = renderIamRoles(ORGSHIELD_AWS_OPERATIONS);
    for (const [name, { policy, trust }] of Object.entries(roles)) {
      const actions = policy.Statement.flatMap((statement) => statement.Action);
      expect(actions.length, name).toBeGreaterThan(0);
      if (name === 'member-account') expect(actions.filter((action) => action.includes('*'))).toEqual([]);
      expect(trust.Statement.map((statement) => statement.Condition?.['StringEquals']?.['sts:ExternalId'])).toEqual(['ORGSHIELD_EXTERNAL_ID']);
    }
    expect(Object.values(roles).flatMap(({ policy }) => policy.Statement.flatMap((statement) => statement.Action)).filter((action) => action.includes('*'))).toEqual([]);
  });

  it('ships deploy/iam/roles.json as `orgshield iam policies --output json` prints it', { timeout: 120_000 }, async () => {
    const shipped = JSON.parse(readFileSync(join(repoRoot, 'deploy/iam/roles.json'), 'utf8')) as unknown;
    expect(shipped, 'regenerate: npx tsx --conditions=@orgshield/source apps/cli/src/main.ts iam policies --output json > deploy/iam/roles.json').toEqual({
      roles: renderIamRoles(ORGSHIELD_AWS_OPERATIONS, { roleNames: { 'member-account': 'orgshield-member-account' } }),
    });
    const printed = await runCli(['iam', 'policies', '--output', 'json'], {});
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.stdout)).toEqual(shipped);
    const one = await runCli(['iam', 'policies', '--role', 'member-account', '--worker-account', '111122223333', '--output', 'json'], {});
    expect(Object.keys((JSON.parse(one.stdout) as { roles: object }).roles)).toEqual(['member-account']);
    expect(one.stdout).toContain('arn:aws:iam::111122223333:role/orgshield-worker');
    const bad = await runCli(['iam', 'policies', '--role', 'admin'], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--role must be one of organization-reader, firewall-manager-administrator, detective-guardduty-reader, member-account, worker, got "admin".');
  });
});
