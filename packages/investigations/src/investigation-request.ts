import { isIP } from 'node:net';
import { InvalidInputError } from '@orgshield/errors';
import { REGION_NAME } from '@orgshield/spec-files';
import { z } from 'zod';
import { isIsoTimestamp } from './finding-schema.js';

const timestamp = z.string().refine(isIsoTimestamp, { message: 'must be an ISO 8601 time such as 2026-11-29T10:00:00Z' });

/**
 * The payload of an `investigation.run` job: what to investigate (exactly one of a GuardDuty
 * finding, an instance, an IP address, an IAM role or user ARN), where, when, and where the
 * flow logs and the reports are. `roleArn` takes IAM users too: Detective investigates both.
 */
export const InvestigationRequestSchema = z
  .object({
    finding: z.unknown().optional(),
    instanceId: z
      .string()
      .regex(/^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/, 'must be an EC2 instance id such as i-0123456789abcdef0')
      .optional(),
    ip: z
      .string()
      .refine((value) => isIP(value) !== 0, { message: 'must be an IPv4 or IPv6 address' })
      .optional(),
    roleArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:iam::\d{12}:(?:role|user)\/[\w+=,.@/-]{1,512}$/,
        'must be an IAM role or user ARN such as arn:aws:iam::123456789012:role/name',
      )
      .optional(),
    accountId: z.string().regex(/^\d{12}$/, 'must be a 12-digit account id'),
    region: z.string().regex(REGION_NAME, 'must be an AWS region such as us-east-1'),
    from: timestamp.optional(),
    to: timestamp.optional(),
    /** `s3://bucket/prefix` (read in the member account) or a local file or folder under the worker's flow-log folder (ORGSHIELD_FLOW_LOG_DIR). */
    flowLogs: z.string().min(1).optional(),
    /** The folder under the worker's report folder (ORGSHIELD_REPORT_DIR) for the JSON, Markdown and HTML reports; default one named for the investigation. */
    reportDir: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((request, context) => {
    const subjects = (['finding', 'instanceId', 'ip', 'roleArn'] as const).filter((key) => request[key] !== undefined);
    if (subjects.length !== 1) {
      context.addIssue({
        code: 'custom',
        path: [],
        message:
          subjects.length === 0
            ? 'names nothing to investigate; give exactly one of finding, instanceId, ip, roleArn'
            : `names ${subjects.join(' and ')}; give exactly one of finding, instanceId, ip, roleArn`,
      });
    }
  });

export type InvestigationRequest = z.infer<typeof InvestigationRequestSchema>;

/** Validates a request; the error names the field and what it must be. */
export function parseInvestigationRequest(input: unknown): InvestigationRequest {
  const parsed = InvestigationRequestSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.length ? `field ${issue.path.map(String).join('.')}` : 'it';
  const problem = issue?.code === 'invalid_type' && issue.input === undefined ? 'is missing' : (issue?.message ?? 'is invalid');
  throw new InvalidInputError(`The investigation request is invalid: ${field} ${problem}.`, {
    code: 'InvalidInvestigationRequest',
  });
}
