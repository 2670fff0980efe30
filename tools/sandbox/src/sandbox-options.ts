import { z } from 'zod';
import type { FaultsConfig } from './faults/faults-config.js';
import { SandboxConfigError } from './sandbox-config-error.js';
import { firewallManagerOptionsSchema } from './services/fms.js';

export const sandboxOptionsSchema = z
  .object({
    /** 0 picks a free port. */
    port: z.number().int().min(0).max(65535).default(4566),
    host: z.string().min(1).default('127.0.0.1'),
    /** Accounts in the seeded organization, the management account included. */
    accounts: z.number().int().min(1).max(100_000).default(300),
    ous: z.number().int().min(0).max(10_000).default(30),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(1),
    /**
     * A faults object, or the path of a YAML file holding one. Its content is checked against
     * faultsConfigSchema when the sandbox starts, so the error names the bad key.
     */
    faults: z
      .custom<FaultsConfig | string>((v) => (typeof v === 'string' && v.length > 0) || (typeof v === 'object' && v !== null), {
        error: 'must be a faults object or the path of a YAML file',
      })
      .optional(),
    /** Append one JSON line per request to this file. */
    requestLog: z.string().min(1).optional(),
    /** Multiplies every simulated delay: 0.01 runs 100x faster. */
    timeScale: z.number().min(0).max(1000).default(1),
    /** Firewall Manager: compliance delays and the blocked-web-ACL scenario (see services/fms.ts). */
    fms: firewallManagerOptionsSchema.prefault({}),
    /** DRS: the certificate and key (PEM) recovery instances' HTTPS ports answer with; without them those ports are closed. */
    drs: z.strictObject({ tls: z.strictObject({ cert: z.string().includes('-----BEGIN CERTIFICATE-----'), key: z.string().includes('PRIVATE KEY-----') }).optional() }).prefault({}),
  })
  .strict();

export type SandboxOptions = z.input<typeof sandboxOptionsSchema>;
export type ResolvedSandboxOptions = z.output<typeof sandboxOptionsSchema>;

export function parseSandboxOptions(options: SandboxOptions): ResolvedSandboxOptions {
  const result = sandboxOptionsSchema.safeParse(options);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.map(String).join('.') || 'options';
  throw new SandboxConfigError(`sandbox option ${where}: ${issue?.message ?? 'is not valid'}.`);
}
