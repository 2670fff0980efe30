import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * The parts of a GuardDuty finding that investigations rely on, in the wire's camelCase
 * (what EventBridge delivers in `detail`). GetFindings output (the SDK and the AWS CLI) uses
 * the same members in PascalCase; finding-normalize.ts lower-cases the first letter of every
 * key before parsing, which the GuardDuty model guarantees for every member read here
 * (finding-schema.test.ts checks each path against the model). Anything else in a finding is
 * ignored, so new GuardDuty fields never break parsing.
 */

/**
 * GuardDuty writes `2026-11-29T10:00:00.000Z`. Date.parse alone would take "1" (the year 2001)
 * or a year past 9999, so the shape is checked first: a date, a time, a zone, a real calendar day.
 */
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;
const timestamp = z.string().refine(isIsoTimestamp, { message: 'must be an ISO 8601 timestamp such as 2026-11-29T10:00:00.000Z' });

/** An ISO 8601 time on a day the calendar has (Date.parse turns 2026-02-30 into March 2). */
export function isIsoTimestamp(value: string): boolean {
  if (!ISO_TIMESTAMP.test(value) || Number.isNaN(Date.parse(value))) return false;
  const [year, month, day] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  return month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

const ipAddress = z.string().refine((value) => isIP(value) !== 0, { message: 'must be an IPv4 or IPv6 address' });

const port = z.number().int().min(0).max(65535);

const portDetails = z.object({ port: port.optional(), portName: z.string().optional() });

const remoteIpDetails = z.object({
  ipAddressV4: ipAddress.optional(),
  ipAddressV6: ipAddress.optional(),
  country: z.object({ countryName: z.string().optional() }).optional(),
  organization: z
    .object({ asn: z.string().optional(), asnOrg: z.string().optional(), isp: z.string().optional(), org: z.string().optional() })
    .optional(),
});

const localIpDetails = z.object({ ipAddressV4: ipAddress.optional(), ipAddressV6: ipAddress.optional() });

const networkInterface = z.object({
  networkInterfaceId: z.string().optional(),
  privateIpAddress: ipAddress.optional(),
  privateIpAddresses: z.array(z.object({ privateIpAddress: ipAddress.optional() })).optional(),
  ipv6Addresses: z.array(ipAddress).optional(),
  publicIp: ipAddress.optional(),
  vpcId: z.string().optional(),
  subnetId: z.string().optional(),
});

export const GuardDutyFindingSchema = z.object({
  schemaVersion: z.string().optional(),
  id: z.string().min(1),
  arn: z.string().optional(),
  type: z.string().min(1),
  title: z.string().optional(),
  description: z.string().optional(),
  severity: z.number().min(0).max(10),
  accountId: z.string().regex(/^\d{12}$/, 'must be a 12-digit account id'),
  region: z.string().min(1),
  partition: z.string().optional(),
  createdAt: timestamp,
  updatedAt: timestamp,
  resource: z.object({
    resourceType: z.string().optional(),
    instanceDetails: z
      .object({
        instanceId: z.string().optional(),
        iamInstanceProfile: z.object({ arn: z.string().optional(), id: z.string().optional() }).optional(),
        networkInterfaces: z.array(networkInterface).optional(),
      })
      .optional(),
    accessKeyDetails: z
      .object({
        accessKeyId: z.string().optional(),
        principalId: z.string().optional(),
        userName: z.string().optional(),
        userType: z.string().optional(),
      })
      .optional(),
  }),
  service: z
    .object({
      eventFirstSeen: timestamp.optional(),
      eventLastSeen: timestamp.optional(),
      count: z.number().int().optional(),
      archived: z.boolean().optional(),
      action: z
        .object({
          actionType: z.string().optional(),
          networkConnectionAction: z
            .object({
              blocked: z.boolean().optional(),
              connectionDirection: z.string().optional(),
              protocol: z.string().optional(),
              localPortDetails: portDetails.optional(),
              remotePortDetails: portDetails.optional(),
              localIpDetails: localIpDetails.optional(),
              remoteIpDetails: remoteIpDetails.optional(),
            })
            .optional(),
          portProbeAction: z
            .object({
              blocked: z.boolean().optional(),
              portProbeDetails: z
                .array(
                  z.object({
                    localPortDetails: portDetails.optional(),
                    localIpDetails: localIpDetails.optional(),
                    remoteIpDetails: remoteIpDetails.optional(),
                  }),
                )
                .optional(),
            })
            .optional(),
          awsApiCallAction: z
            .object({
              api: z.string().optional(),
              serviceName: z.string().optional(),
              callerType: z.string().optional(),
              errorCode: z.string().optional(),
              remoteIpDetails: remoteIpDetails.optional(),
            })
            .optional(),
        })
        .optional(),
    })
    .optional(),
});

export type GuardDutyFinding = z.infer<typeof GuardDutyFindingSchema>;
