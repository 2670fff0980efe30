import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SandboxConfigError } from '../sandbox-config-error.js';

/** One operation's faults. Rates are per second, per calling account and per region, as AWS quotas are. */
export const faultRuleSchema = z
  .object({
    rate: z.number({ error: 'must be a number of requests per second' }).positive({ error: 'must be greater than 0' }).optional(),
    burst: z.number({ error: 'must be a whole number of requests' }).int({ error: 'must be a whole number' }).positive({ error: 'must be at least 1' }).optional(),
    latencyMs: z
      .tuple([z.number().nonnegative(), z.number().nonnegative()], { error: 'must be [min, max] in milliseconds' })
      .refine(([min, max]) => min <= max, { error: 'must be [min, max] with min <= max' })
      .optional(),
    /** A fraction of calls answered with the service's throttling error whatever the rate (quotas shared with other callers). */
    throttleRate: z.number({ error: 'must be a fraction' }).min(0, { error: 'must be between 0 and 1' }).max(1, { error: 'must be between 0 and 1' }).optional(),
    errorRate: z.number({ error: 'must be a fraction' }).min(0, { error: 'must be between 0 and 1' }).max(1, { error: 'must be between 0 and 1' }).optional(),
    resetRate: z.number({ error: 'must be a fraction' }).min(0, { error: 'must be between 0 and 1' }).max(1, { error: 'must be between 0 and 1' }).optional(),
    /** Every call is refused as an IAM policy without this action refuses it (EC2's UnauthorizedOperation, AccessDenied elsewhere). */
    deny: z.boolean({ error: 'must be true or false' }).optional(),
    /** Only calls made in these accounts get this rule's faults (an account whose service is broken); default every account. */
    accounts: z.array(z.string().regex(/^\d{12}$/, { error: 'must be a 12-digit account id' })).min(1).optional(),
  })
  .strict()
  .refine((rule) => rule.burst === undefined || rule.rate !== undefined, { error: 'burst needs a rate' });

/** `service:Operation` or `service:*`, e.g. `organizations:ListAccounts`, `fms:*`. */
export const FAULT_KEY_PATTERN = /^[a-z0-9-]+:(\*|[A-Z][A-Za-z0-9]*)$/;

export const faultsConfigSchema = z
  .object({
    operations: z
      .record(z.string().regex(FAULT_KEY_PATTERN, { error: 'keys are "service:Operation" or "service:*"' }), faultRuleSchema)
      .default({}),
    /**
     * DRS launches that fail: source server id or Name tag (`render-2`) -> the job log's rawError.
     * Every launch of such a server ends FAILED with LAUNCH_FAILED, as a capacity or permission
     * problem would make it.
     */
    drsLaunchFailures: z.record(z.string().min(1), z.string({ error: 'must be the error text the job log reports' }).min(1)).optional(),
  })
  .strict();

export type FaultRule = z.infer<typeof faultRuleSchema>;
export type FaultsConfig = z.infer<typeof faultsConfigSchema>;

const FAULTS_SHAPE = '{ operations: { "organizations:*": { rate: 10, burst: 10, latencyMs: [5, 50], throttleRate: 0.1, errorRate: 0.02, resetRate: 0.01 } } }';

/**
 * Checks a faults object; `source` names where it came from in the error. Every problem is
 * reported, one line each naming the field and the value given, so a file is fixed in one go.
 */
export function parseFaultsConfig(value: unknown, source = 'faults'): FaultsConfig {
  const result = faultsConfigSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const where = issue.path.length === 0 ? 'the top level' : issue.path.map((part) => JSON.stringify(String(part))).join('.');
    const why = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    // A bad key is named by its path; a bad value is shown as given.
    const given = issue.code === 'invalid_key' ? undefined : shownValue(valueAt(value, issue.path));
    return `${where}${given === undefined ? '' : ` ${given}`}: ${why}`;
  });
  throw invalidFaults(source, problems, `expected a shape like ${FAULTS_SHAPE}`);
}

/**
 * The error for a faults config with these problems: one problem is one sentence; more are a
 * line each under a line that counts them. `hint` (the fix) ends it.
 */
export function invalidFaults(source: string, problems: readonly string[], hint: string): SandboxConfigError {
  if (problems.length === 1) return new SandboxConfigError(`${source}: ${problems[0]}; ${hint}.`, problems);
  return new SandboxConfigError(`${source} has ${problems.length} problems; ${hint}:\n${problems.map((problem) => `  ${problem}`).join('\n')}`, problems);
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let node = value;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** A scalar or a short list as given (`= 2`, `= "fast"`); a map or nothing is not shown: its fields are the problems. */
function shownValue(value: unknown): string | undefined {
  if (value === undefined || (typeof value === 'object' && value !== null && !Array.isArray(value))) return undefined;
  const text = JSON.stringify(value) ?? String(value);
  return `= ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

export function loadFaultsFile(path: string): FaultsConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SandboxConfigError(`faults file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); pass an existing YAML file.`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new SandboxConfigError(`faults file ${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  return parseFaultsConfig(value, `faults file ${path}`);
}
