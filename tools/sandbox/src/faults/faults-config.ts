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

/** Checks a faults object; `source` names where it came from in the error. */
export function parseFaultsConfig(value: unknown, source = 'faults'): FaultsConfig {
  const result = faultsConfigSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new SandboxConfigError(`${source} is not valid.`);
  const where = issue.path.length === 0 ? 'the top level' : issue.path.map((part) => JSON.stringify(String(part))).join('.');
  const why = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
  throw new SandboxConfigError(
    `${source}: ${where}: ${why}; expected a shape like { operations: { "organizations:*": { rate: 10, burst: 10, latencyMs: [5, 50], throttleRate: 0.1, errorRate: 0.02, resetRate: 0.01 } } }.`,
  );
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
