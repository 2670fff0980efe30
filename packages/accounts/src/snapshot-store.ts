import { EXIT_CODES, InvalidInputError, OrgshieldError } from '@orgshield/errors';
import { organizationSnapshotSchema, type OrganizationSnapshot } from './organization-schema.js';
import type { RedisClient } from '@orgshield/jobs';

export interface SnapshotStoreOptions {
  /** Prefix of the Redis key, so tests and deployments don't share a snapshot; default `orgshield:`. */
  keyPrefix?: string;
}

function snapshotKey(options: SnapshotStoreOptions): string {
  return `${options.keyPrefix ?? 'orgshield:'}org:snapshot`;
}

/** The cached snapshot no longer reads as one (written by another version, or by hand). */
export class SnapshotUnreadableError extends OrgshieldError {
  constructor(key: string, cause: unknown) {
    super('SnapshotUnreadable', `the organization snapshot in Redis (${key}) is unreadable: run "orgshield org sync" to refresh it.`, {
      exitCode: EXIT_CODES.failed,
      cause,
    });
  }
}

/** Replaces the cached snapshot in one write, so readers see the old one or the new one, never half. */
export async function saveSnapshot(redis: RedisClient, snapshot: OrganizationSnapshot, options: SnapshotStoreOptions = {}): Promise<void> {
  const parsed = organizationSnapshotSchema.safeParse(snapshot);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidInputError(`the snapshot is not saved: ${issue?.path.map(String).join('.')} ${issue?.message ?? 'is invalid'}.`);
  }
  await redis.set(snapshotKey(options), JSON.stringify(parsed.data));
}

/** The cached snapshot (its `fetchedAt` says how old it is), or undefined when none was synced yet. */
export async function loadSnapshot(redis: RedisClient, options: SnapshotStoreOptions = {}): Promise<OrganizationSnapshot | undefined> {
  const key = snapshotKey(options);
  const raw = await redis.get(key);
  if (raw === null) return undefined;
  try {
    return organizationSnapshotSchema.parse(JSON.parse(raw));
  } catch (error) {
    throw new SnapshotUnreadableError(key, error);
  }
}
