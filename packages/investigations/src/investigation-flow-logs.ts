import { DescribeFlowLogsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import type { FlowLogInput } from './flow-log-reader.js';
import { flowLogKeyPrefixes } from './flow-log-reader.js';
import { parseAwsAnswer, withFreshCredentials } from './investigation-aws.js';
import type { ResolvedEntity } from './investigation-entity.js';
import { FLOW_LOG_DELIVERY_DELAY_MS, type TimeWindow } from './investigation-window.js';
import { parseS3Url, type S3Location, s3ObjectSource } from './s3-object-source.js';

/** Where an investigation's flow logs come from, and how the reader gets at them. */
export interface FlowLogPlan {
  /** `s3://bucket/prefix`, a local path, or null when there is nothing to read. */
  source: string | null;
  /** How the source was found: named by the request, or the VPC's flow log (DescribeFlowLogs). */
  via: 'request' | 'describe-flow-logs' | 'none';
  input: FlowLogInput;
  notes: string[];
}

export interface FlowLogAccess {
  ec2: (fresh: boolean) => EC2Client;
  s3: (fresh: boolean) => S3Client;
  accountId: string;
  region: string;
}

const FlowLogsAnswer = z.object({
  FlowLogs: z
    .array(
      z.object({
        FlowLogId: z.string().optional(),
        ResourceId: z.string().optional(),
        FlowLogStatus: z.string().optional(),
        LogDestinationType: z.string().optional(),
        LogDestination: z.string().optional(),
        DestinationOptions: z.object({ HiveCompatiblePartitions: z.boolean().optional(), PerHourPartition: z.boolean().optional() }).optional(),
      }),
    )
    .optional(),
});

/**
 * The flow logs to read for the entity over the window. A local path is read as given; an
 * S3 location (named, or the S3 destination of a flow log on the entity's VPC, subnet or
 * interface) is listed only under the prefixes of the window's days, in the default or the
 * Hive-compatible layout. The listing window ends 15 minutes after the analysis window,
 * because a delivery is filed under the day it was written, which can be the next one.
 */
export async function planFlowLogs(flowLogs: string | undefined, entity: ResolvedEntity, window: TimeWindow, access: FlowLogAccess): Promise<FlowLogPlan> {
  if (flowLogs !== undefined && !flowLogs.startsWith('s3://')) return { source: flowLogs, via: 'request', input: { paths: [flowLogs] }, notes: [] };
  if (flowLogs !== undefined) {
    const location = parseS3Url(flowLogs);
    return { source: flowLogs, via: 'request', input: await s3Input(location, {}, window, access), notes: [] };
  }
  const resources = [...new Set(entity.networkInterfaces.flatMap((eni) => [eni.id, eni.vpcId, eni.subnetId]).filter((id): id is string => id !== undefined))];
  if (resources.length === 0) {
    return { source: null, via: 'none', input: { paths: [] }, notes: ['No network interface is known for the subject, so no flow log could be found; pass --flow-logs.'] };
  }
  const answer = parseAwsAnswer('EC2', 'DescribeFlowLogs', FlowLogsAnswer,
    await withFreshCredentials(access.ec2, (ec2) => ec2.send(new DescribeFlowLogsCommand({ Filter: [{ Name: 'resource-id', Values: resources }] }))),
  );
  const toS3 = (answer.FlowLogs ?? []).find((log) => log.LogDestinationType === 's3' && log.FlowLogStatus !== 'FAILED' && log.LogDestination);
  if (!toS3?.LogDestination) {
    return {
      source: null,
      via: 'none',
      input: { paths: [] },
      notes: [`No flow log to S3 is configured for ${resources.join(', ')} in account ${access.accountId} ${access.region}; pass --flow-logs s3://BUCKET/PREFIX or a local path.`],
    };
  }
  // LogDestination is the bucket's ARN with the configured prefix: arn:aws:s3:::bucket/prefix
  const url = `s3://${toS3.LogDestination.replace(/^arn:aws[a-z-]*:s3:::/, '')}`;
  const location = parseS3Url(url);
  const layout = { hive: toS3.DestinationOptions?.HiveCompatiblePartitions ?? false, perHour: toS3.DestinationOptions?.PerHourPartition ?? false };
  return {
    source: url,
    via: 'describe-flow-logs',
    input: await s3Input(location, layout, window, access),
    notes: [`Flow logs read from ${url}, the destination of flow log ${toS3.FlowLogId ?? ''} on ${toS3.ResourceId ?? 'the VPC'}.`],
  };
}

async function s3Input(location: S3Location, layout: { hive?: boolean; perHour?: boolean }, window: TimeWindow, access: FlowLogAccess): Promise<FlowLogInput> {
  const objects = s3ObjectSource(access.s3, location.bucket);
  // A prefix that already walks into AWSLogs/ is cut back to what the flow log was configured with.
  const marker = location.prefix.indexOf('AWSLogs/');
  const configured = marker >= 0 ? location.prefix.slice(0, marker) : location.prefix;
  const hive = layout.hive ?? (location.prefix.includes('aws-account-id=') || (await hasAny(objects, `${configured}AWSLogs/aws-account-id=${access.accountId}/`)));
  const prefixes = flowLogKeyPrefixes({
    prefix: configured,
    accountId: access.accountId,
    region: access.region,
    from: window.from,
    to: new Date(window.to.getTime() + FLOW_LOG_DELIVERY_DELAY_MS),
    hive,
    perHour: layout.perHour ?? false,
  });
  return { objects, prefixes };
}

async function hasAny(objects: ReturnType<typeof s3ObjectSource>, prefix: string): Promise<boolean> {
  for await (const _object of objects.list(prefix)) return true;
  return false;
}
