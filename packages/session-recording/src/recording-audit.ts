import {
  AppStreamClient,
  DescribeFleetsCommand,
  DescribeImagesCommand,
  DescribeSessionsCommand,
  DescribeUsageReportSubscriptionsCommand,
  ListAssociatedStacksCommand,
  ListTagsForResourceCommand,
  type Fleet,
} from '@aws-sdk/client-appstream';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { AwsCallError } from '@orgshield/aws';
import { RECORDING_IMAGE_TAG } from './image-assistant-steps.js';
import { fleetRoleName } from './recording-access.js';
import { LINUX_RECORDER, WINDOWS_RECORDER } from './session-scripts.js';
import { readStoredZipEntry } from './session-scripts-zip.js';
import { userPrefixes, type RecordingTarget, type UserRecordingsContext } from './user-recordings.js';

/**
 * Where recording is missing: every fleet in the targets classified from what the API shows (the
 * image carries orgshield's tag or is allow-listed, or an Elastic fleet's zip holds our config;
 * the fleet runs with the role that may write to the bucket), and evidence: every session
 * AppStream knows of (current ones from DescribeSessions, past ones from the usage reports)
 * checked against the recordings in the bucket. Findings name sessions by id and users by
 * pseudonym only.
 */

export type FleetVerdict = 'recording' | 'not-recording' | 'unknown';

export interface FleetAudit {
  account: string;
  region: string;
  fleet: string;
  stacks: string[];
  verdict: FleetVerdict;
  reasons: string[];
}

export interface SessionFinding {
  account: string;
  region: string;
  fleet: string;
  stack: string;
  sessionId: string;
  /** The user's pseudonym in that account, never the name. */
  userPseudonym: string;
  startedAt?: string;
  source: 'DescribeSessions' | 'usage report';
}

export interface AuditReport {
  fleets: FleetAudit[];
  /** Sessions that left no metadata file in the bucket. */
  sessionsWithoutRecording: SessionFinding[];
  sessionsChecked: number;
}

function code(error: unknown): string | undefined {
  return error instanceof AwsCallError ? error.awsCode : undefined;
}

async function allFleets(client: AppStreamClient): Promise<Fleet[]> {
  const fleets: Fleet[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new DescribeFleetsCommand({ NextToken }));
    fleets.push(...(page.Fleets ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return fleets;
}

async function fleetVerdict(context: UserRecordingsContext, target: RecordingTarget, fleet: Fleet): Promise<{ verdict: FleetVerdict; reasons: string[] }> {
  const { recording } = context;
  const clientTarget = context.targetFor(target.account, target.region);
  const appstream = context.clients.client(AppStreamClient, clientTarget);
  const reasons: string[] = [];
  let scripts: boolean | undefined;
  if (fleet.FleetType === 'ELASTIC') {
    const location = fleet.SessionScriptS3Location;
    if (!location?.S3Bucket || !location.S3Key) {
      scripts = false;
      reasons.push('the Elastic fleet has no session scripts');
    } else {
      try {
        const body = await context.clients.client(S3Client, clientTarget).send(new GetObjectCommand({ Bucket: location.S3Bucket, Key: location.S3Key }));
        const config = readStoredZipEntry(Buffer.from(await body.Body!.transformToByteArray()), 'config.json')?.toString('utf8') ?? '';
        scripts = config.includes(LINUX_RECORDER) || config.includes(WINDOWS_RECORDER);
        if (!scripts) reasons.push(`the session scripts zip s3://${location.S3Bucket}/${location.S3Key} does not start orgshield's recorder`);
      } catch (error) {
        reasons.push(`the session scripts zip cannot be read (${code(error) ?? (error as Error).message})`);
      }
    }
  } else {
    const imageName = fleet.ImageName ?? fleet.ImageArn?.split('/').at(-1);
    if (imageName && recording.appstream.allowedImages.includes(imageName)) scripts = true;
    else if (imageName) {
      try {
        const image = (await appstream.send(new DescribeImagesCommand({ Names: [imageName] }))).Images?.[0];
        const tags = image?.Arn ? (await appstream.send(new ListTagsForResourceCommand({ ResourceArn: image.Arn }))).Tags ?? {} : {};
        scripts = tags[RECORDING_IMAGE_TAG.key] !== undefined;
        if (!scripts) reasons.push(`image ${imageName} carries no ${RECORDING_IMAGE_TAG.key} tag and is not in allowedImages`);
      } catch (error) {
        reasons.push(`image ${imageName} cannot be read (${code(error) ?? (error as Error).message})`);
      }
    }
  }
  const role = fleet.IamRoleArn?.split('/').at(-1);
  const writes = role === fleetRoleName(recording);
  if (!writes) reasons.push(fleet.IamRoleArn ? `the fleet role ${role} is not orgshield's recorder role, which alone may write to the bucket` : 'the fleet has no IAM role, so nothing on it can upload');
  const verdict: FleetVerdict = scripts === true && writes ? 'recording' : scripts === undefined && writes ? 'unknown' : 'not-recording';
  return { verdict, reasons };
}

/** Did this session leave its metadata file (or any object) under the user's folder? */
async function recorded(context: UserRecordingsContext, target: RecordingTarget, session: { userId: string; sessionId: string; stack: string; fleet: string }): Promise<{ recorded: boolean; pseudonym: string }> {
  const { bucket, pseudonyms } = await userPrefixes(context, target, session.userId);
  const s3 = context.clients.client(S3Client, context.targetFor(target.account, target.region));
  for (const pseudonym of pseudonyms) {
    const prefix = `${context.recording.bucket.prefix}${session.stack}/${session.fleet}/${pseudonym}/${session.sessionId}/`;
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 })).catch((error: unknown) => (code(error) === 'NoSuchBucket' ? { KeyCount: 0 } : Promise.reject(error)));
    if ((listed.KeyCount ?? 0) > 0) return { recorded: true, pseudonym };
  }
  return { recorded: false, pseudonym: pseudonyms[0] ?? 'no-pseudonym-key' };
}

/** Past sessions from AppStream's daily sessions reports (CSV) in the usage reports bucket. */
async function reportedSessions(context: UserRecordingsContext, target: RecordingTarget, window: { from: Date; to: Date }): Promise<{ userId: string; sessionId: string; stack: string; fleet: string; startedAt: string }[]> {
  const clientTarget = context.targetFor(target.account, target.region);
  const subscriptions = (await context.clients.client(AppStreamClient, clientTarget).send(new DescribeUsageReportSubscriptionsCommand({}))).UsageReportSubscriptions ?? [];
  const sessions: { userId: string; sessionId: string; stack: string; fleet: string; startedAt: string }[] = [];
  const s3 = context.clients.client(S3Client, clientTarget);
  for (const subscription of subscriptions) {
    if (!subscription.S3BucketName) continue;
    for (let day = new Date(Date.UTC(window.from.getUTCFullYear(), window.from.getUTCMonth(), window.from.getUTCDate())); day <= window.to; day = new Date(day.getTime() + 86_400_000)) {
      const [year, month, date] = day.toISOString().slice(0, 10).split('-');
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: subscription.S3BucketName, Prefix: `sessions/schedule=DAILY/year=${year}/month=${month}/day=${date}/` }));
      for (const object of listed.Contents ?? []) {
        const text = (await (await s3.send(new GetObjectCommand({ Bucket: subscription.S3BucketName, Key: object.Key! }))).Body?.transformToString()) ?? '';
        sessions.push(...parseSessionsReport(text));
      }
    }
  }
  return sessions;
}

/** The columns the audit needs from a sessions report; rows it cannot read are skipped, not trusted. */
export function parseSessionsReport(text: string): { userId: string; sessionId: string; stack: string; fleet: string; startedAt: string }[] {
  const [header, ...rows] = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const columns = (header ?? '').split(',');
  const at = (name: string) => columns.indexOf(name);
  const [id, user, stack, fleet, start] = ['user_session_id', 'user_id', 'stack_name', 'fleet_name', 'session_start_time'].map(at) as [number, number, number, number, number];
  if ([id, user, stack, fleet, start].some((index) => index < 0)) return [];
  return rows
    .map((row) => row.split(','))
    .filter((cells) => cells.length === columns.length)
    .map((cells) => ({ sessionId: cells[id]!, userId: cells[user]!, stack: cells[stack]!, fleet: cells[fleet]!, startedAt: cells[start]! }));
}

/** Audits every target: fleets classified, current and past sessions checked against the bucket. */
export async function auditRecording(context: UserRecordingsContext, window: { from: Date; to: Date }): Promise<AuditReport> {
  const report: AuditReport = { fleets: [], sessionsWithoutRecording: [], sessionsChecked: 0 };
  for (const target of context.targets) {
    const appstream = context.clients.client(AppStreamClient, context.targetFor(target.account, target.region));
    const sessions = new Map<string, { userId: string; sessionId: string; stack: string; fleet: string; startedAt?: string; source: SessionFinding['source'] }>();
    for (const fleet of await allFleets(appstream)) {
      const stacks = (await appstream.send(new ListAssociatedStacksCommand({ FleetName: fleet.Name! }))).Names ?? [];
      const { verdict, reasons } = await fleetVerdict(context, target, fleet);
      report.fleets.push({ account: target.account, region: target.region, fleet: fleet.Name!, stacks, verdict, reasons });
      for (const stack of stacks) {
        let NextToken: string | undefined;
        do {
          const page = await appstream.send(new DescribeSessionsCommand({ StackName: stack, FleetName: fleet.Name!, NextToken }));
          for (const session of page.Sessions ?? []) {
            sessions.set(session.Id!, { userId: session.UserId!, sessionId: session.Id!, stack, fleet: fleet.Name!, startedAt: session.StartTime?.toISOString(), source: 'DescribeSessions' });
          }
          NextToken = page.NextToken;
        } while (NextToken);
      }
    }
    for (const session of await reportedSessions(context, target, window)) {
      if (!sessions.has(session.sessionId)) sessions.set(session.sessionId, { ...session, source: 'usage report' });
    }
    // Only sessions on the recording file's stack and fleet are expected in its bucket.
    const { stack, fleet } = context.recording.appstream;
    for (const session of sessions.values()) {
      if (session.stack !== stack.name || session.fleet !== fleet.name) continue;
      report.sessionsChecked += 1;
      const { recorded: found, pseudonym } = await recorded(context, target, session);
      if (!found) {
        report.sessionsWithoutRecording.push({ account: target.account, region: target.region, fleet: session.fleet, stack: session.stack, sessionId: session.sessionId, userPseudonym: pseudonym, startedAt: session.startedAt, source: session.source });
      }
    }
  }
  return report;
}

