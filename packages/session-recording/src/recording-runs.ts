import { createHash, randomBytes } from 'node:crypto';
import { OrgshieldError } from '@orgshield/errors';
import { DEFAULT_RUN_RETENTION, FencedLocks, RunStateStore, type RedisClient, type RunRetention } from '@orgshield/jobs';
import type { RecordingSource } from './recording-loader.js';

/**
 * Session recording's state in Redis: the stored recording files (jobs carry their id, never their
 * text), one run per setup, audit or erase (record, state, steps, result, events on the run-state
 * layer of @orgshield/jobs), the fenced locks on targets, and the erasure records kept on purpose.
 */

export const RECORDING_RUN_KINDS = ['setup', 'audit', 'erase'] as const;
export type RecordingRunKind = (typeof RECORDING_RUN_KINDS)[number];

export const RECORDING_RUN_STATUSES = ['queued', 'running', 'completed', 'blocked', 'failed'] as const;
export type RecordingRunStatus = (typeof RECORDING_RUN_STATUSES)[number];
/** Statuses after which the run does nothing more and lets go of its recording's name. */
export const SETTLED_RECORDING_STATUSES: readonly RecordingRunStatus[] = ['completed', 'blocked', 'failed'];

export interface RecordingRunRecord {
  id: string;
  kind: RecordingRunKind;
  /** The recording file's `name:`. */
  recording: string;
  fileId: string;
  createdAt: string;
  requestedBy?: string;
  schedule?: string;
  /** Setup: how long to wait for a builder, an image or a fleet. */
  waitSeconds?: number;
  /** Audit: past days of usage reports to check. */
  days?: number;
}

export interface RecordingRunState {
  status: RecordingRunStatus;
  generation: number;
  message: string;
  at: string;
}

export interface RecordingRunEvent {
  at: string;
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** What is kept of an erasure, on purpose and for ORGSHIELD_KEEP_DAYS: never the person's name. */
export interface ErasureRecord {
  runId: string;
  recording: string;
  at: string;
  by: string;
  pseudonyms: string[];
  versions: number;
  targets: { account: string; region: string; versions: number }[];
}

/** A second run of a recording file while the first is under way. */
export class RecordingRunHeldError extends OrgshieldError {
  constructor(
    readonly kind: RecordingRunKind,
    recording: string,
    readonly holder: string,
  ) {
    super('RecordingRunInProgress', `recording ${recording} already has ${kind} run ${holder} under way; wait for it ("orgshield recording status ${holder}") or let it finish before starting another.`, { exitCode: 1 });
  }
}

/** How long the name of a person whose recordings are to be erased stays in Redis at most (a worker that never came). */
const SUBJECT_TTL_MS = 60 * 60_000;

export class RecordingRuns {
  readonly runs: RunStateStore<RecordingRunRecord, RecordingRunState, RecordingRunEvent>;
  readonly locks: FencedLocks;
  readonly retention: RunRetention;
  private readonly base: string;

  constructor(
    readonly redis: RedisClient,
    prefix = 'orgshield',
    options: { retention?: RunRetention } = {},
  ) {
    this.base = `${prefix}:recording`;
    this.retention = options.retention ?? DEFAULT_RUN_RETENTION;
    this.runs = new RunStateStore(redis, { keyPrefix: this.base, kind: 'run', releasedStatuses: SETTLED_RECORDING_STATUSES, retention: this.retention });
    this.locks = new FencedLocks(redis, this.base);
  }

  /**
   * Stores a recording file under the hash of its text and returns that id. It is kept as long as
   * what people keep on purpose, from when it was last stored (setting a schedule again stores it again).
   */
  async storeFile(source: RecordingSource): Promise<string> {
    const id = createHash('sha256').update(source.text).digest('hex');
    await this.redis.set(`${this.base}:file:${id}`, JSON.stringify(source), 'PX', this.retention.keptMs);
    return id;
  }

  async file(id: string): Promise<RecordingSource> {
    const key = `${this.base}:file:${id}`;
    const text = await this.redis.get(key);
    if (!text) throw new OrgshieldError('UnknownRecordingFile', `the stored recording file ${id.slice(0, 12)} is gone from Redis (expired); submit the file again.`, { exitCode: 2 });
    return JSON.parse(text) as RecordingSource;
  }

  /**
   * A new run of `kind` for a stored file. A setup claims its recording's name in the same step,
   * so a second setup of the same file while the first runs is refused with the first's id. An
   * erase stores its subject (the person's name) first, under a short expiry, for the worker alone.
   */
  async create(
    run: Pick<RecordingRunRecord, 'kind' | 'recording' | 'fileId' | 'requestedBy' | 'schedule' | 'waitSeconds' | 'days'> & { id?: string; subject?: string },
  ): Promise<{ runId: string; created: boolean }> {
    const runId = run.id ?? `${run.recording}-${run.kind}-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`.slice(0, 128);
    if (run.subject !== undefined) await this.redis.set(this.runs.runKey(runId, 'subject'), run.subject, 'PX', SUBJECT_TTL_MS);
    const now = new Date();
    const record: RecordingRunRecord = {
      id: runId,
      kind: run.kind,
      recording: run.recording,
      fileId: run.fileId,
      createdAt: now.toISOString(),
      ...(run.requestedBy ? { requestedBy: run.requestedBy } : {}),
      ...(run.schedule ? { schedule: run.schedule } : {}),
      ...(run.waitSeconds !== undefined ? { waitSeconds: run.waitSeconds } : {}),
      ...(run.days !== undefined ? { days: run.days } : {}),
    };
    const state: RecordingRunState = { status: 'queued', generation: 0, message: `${run.kind} queued`, at: now.toISOString() };
    const outcome = await this.runs.create({ id: runId, ...(run.kind === 'setup' ? { name: `setup:${run.recording}` } : {}), record, state, createdAt: now.getTime() });
    if (outcome.created) return { runId, created: true };
    if (outcome.exists) return { runId, created: false };
    if (run.subject !== undefined) await this.forgetSubject(runId);
    throw new RecordingRunHeldError(run.kind, run.recording, outcome.holder);
  }

  record(id: string): Promise<RecordingRunRecord | undefined> {
    return this.runs.record(id);
  }

  state(id: string): Promise<RecordingRunState | undefined> {
    return this.runs.state(id);
  }

  transition(id: string, from: readonly RecordingRunStatus[], next: { status: RecordingRunStatus; message: string; level?: RecordingRunEvent['level'] }): Promise<RecordingRunState | undefined> {
    return this.runs.transition(id, from, () => ({ status: next.status, message: next.message, at: new Date().toISOString() }), { event: () => ({ level: next.level ?? 'info', message: next.message }) });
  }

  /** The name of the person an erase run is for, while it runs. */
  async subject(id: string): Promise<string | undefined> {
    return (await this.redis.get(this.runs.runKey(id, 'subject'))) ?? undefined;
  }

  async forgetSubject(id: string): Promise<void> {
    await this.redis.del(this.runs.runKey(id, 'subject'));
  }

  async saveResult(id: string, result: unknown): Promise<void> {
    await this.runs.setField(id, 'result', 'value', JSON.stringify(result));
  }

  async result<T>(id: string): Promise<T | undefined> {
    const text = await this.runs.field(id, 'result', 'value');
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  /**
   * Keeps an erasure's record for the kept retention, indexed by time, and drops records past it,
   * in one step.
   */
  async keepErasure(record: ErasureRecord): Promise<void> {
    const at = Date.parse(record.at);
    await this.redis
      .multi()
      .set(`${this.base}:erasure:${record.runId}`, JSON.stringify(record), 'PX', this.retention.keptMs)
      .zremrangebyscore(`${this.base}:erasures`, '-inf', Date.now() - this.retention.keptMs)
      .zadd(`${this.base}:erasures`, at, record.runId)
      .pexpire(`${this.base}:erasures`, this.retention.keptMs)
      .exec();
  }

  /** Erasure records, newest first. */
  async erasures(limit = 100): Promise<ErasureRecord[]> {
    const ids = await this.redis.zrevrange(`${this.base}:erasures`, 0, limit - 1);
    if (ids.length === 0) return [];
    const texts = await this.redis.mget(ids.map((id) => `${this.base}:erasure:${id}`));
    return texts.flatMap((text) => (text ? [JSON.parse(text) as ErasureRecord] : []));
  }
}
