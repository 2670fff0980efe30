import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { InvalidInputError } from '@orgshield/errors';
import type { MutationAuditEntry } from './client-factory.js';

/** What a stored entry adds to a mutation: the hash of the entry before it, and its own. */
export interface StoredAuditEntry extends MutationAuditEntry {
  /** The stream id: when Redis took the entry, and its order. */
  id: string;
  prev: string;
  hash: string;
}

export interface AuditTrailOptions {
  /** Prefix of orgshield's Redis keys, e.g. `orgshield:`. */
  keyPrefix: string;
  /** Entries older than this (by this process's clock against the ids Redis gives) are dropped as new ones are written; default a year. */
  retentionMs?: number;
}

export interface AuditProblem {
  id: string;
  message: string;
}

export interface AuditVerification {
  entries: number;
  problems: AuditProblem[];
  /** The retention has dropped entries before the first one (which follows the last dropped). */
  trimmedBefore: boolean;
}

export const DEFAULT_AUDIT_RETENTION_MS = 365 * 24 * 60 * 60 * 1000;
/** The `prev` of the very first entry. */
export const AUDIT_GENESIS = '0'.repeat(64);

/**
 * Appends only if the chain's head is still the one the entry was hashed on: concurrent
 * writers (several workers) each get a consistent chain, a loser retries on the new head.
 * Entries past the retention are dropped here too, and the hash of the last one dropped is
 * kept as the anchor the first remaining entry must follow: so removing entries at the start
 * is caught like removing any other.
 */
const APPEND = `
local head = redis.call('GET', KEYS[2]) or ARGV[1]
if head ~= ARGV[2] then return {0, head} end
local old = redis.call('XRANGE', KEYS[1], '-', '(' .. ARGV[3], 'COUNT', 1000)
if #old > 0 then
  local ok, dropped = pcall(cjson.decode, old[#old][2][2])
  if ok and type(dropped) == 'table' and type(dropped['hash']) == 'string' then redis.call('SET', KEYS[3], dropped['hash']) end
  for _, entry in ipairs(old) do redis.call('XDEL', KEYS[1], entry[1]) end
end
local id = redis.call('XADD', KEYS[1], '*', 'entry', ARGV[4])
redis.call('SET', KEYS[2], ARGV[5])
return {1, id}
`;

/**
 * The audit trail of mutating AWS calls, in a Redis stream: each entry carries the hash of the
 * one before it and its own hash over that and its canonical JSON, so removing, reordering or
 * editing an entry breaks the chain where it happened. The chain is as strong as the Redis
 * access: whoever can write the stream can also rewrite every hash after an edit; export the
 * trail (or its head hash) elsewhere for evidence that outlives Redis.
 */
export class RedisAuditTrail {
  private readonly streamKey: string;
  private readonly headKey: string;
  private readonly anchorKey: string;
  private readonly retentionMs: number;

  constructor(
    private readonly redis: Redis | Cluster,
    options: AuditTrailOptions,
  ) {
    // One hash tag for both keys, so the append script runs on one Redis Cluster slot (a tag in the prefix wins).
    this.streamKey = `${options.keyPrefix}{audit}`;
    this.headKey = `${options.keyPrefix}{audit}:head`;
    this.anchorKey = `${options.keyPrefix}{audit}:anchor`;
    this.retentionMs = options.retentionMs ?? DEFAULT_AUDIT_RETENTION_MS;
  }

  async append(entry: MutationAuditEntry): Promise<string> {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const head = (await this.redis.get(this.headKey)) ?? AUDIT_GENESIS;
      const hash = entryHash(head, entry);
      const minId = `${Math.max(0, Date.now() - this.retentionMs)}-0`;
      const stored = JSON.stringify({ ...entry, prev: head, hash });
      const [ok, value] = (await this.redis.eval(APPEND, 3, this.streamKey, this.headKey, this.anchorKey, AUDIT_GENESIS, head, minId, stored, hash)) as [
        number,
        string,
      ];
      if (ok === 1) return value;
    }
    throw new Error('the audit trail head kept moving: 100 appends in a row lost the race');
  }

  /** Entries from `from` to `to` (inclusive, by the time Redis took them), oldest first, in pages. */
  async *entries(range: { from?: Date; to?: Date } = {}): AsyncGenerator<StoredAuditEntry> {
    if (range.from && range.to && range.from.getTime() > range.to.getTime()) {
      throw new InvalidInputError(`--from ${range.from.toISOString()} is after --to ${range.to.toISOString()}; give the earlier time first.`);
    }
    let start = range.from ? `${range.from.getTime()}-0` : '-';
    const end = range.to ? `${range.to.getTime()}-18446744073709551615` : '+';
    for (;;) {
      const page = await this.redis.xrange(this.streamKey, start, end, 'COUNT', 500);
      for (const [id, fields] of page) yield { ...(parseStored(fields) as Omit<StoredAuditEntry, 'id'>), id };
      if (page.length < 500) return;
      start = `(${page[page.length - 1]?.[0] ?? ''}`;
    }
  }

  /** Walks the whole chain: every entry's hash, and that it follows the one before it. */
  async verify(): Promise<AuditVerification> {
    const problems: AuditProblem[] = [];
    const hashes = new Set<string>();
    const seen: { id: string; prev: string }[] = [];
    let previous: StoredAuditEntry | undefined;
    let entries = 0;
    const anchor = await this.redis.get(this.anchorKey);
    for await (const entry of this.entries()) {
      entries += 1;
      const { id, prev, hash, ...content } = entry;
      if (entryHash(prev, content) !== hash) problems.push({ id, message: `entry ${id} was changed after it was written: its content does not match its hash` });
      // The first entry follows the last one the retention dropped, or nothing.
      if (prev !== (previous === undefined ? (anchor ?? AUDIT_GENESIS) : previous.hash)) seen.push({ id, prev });
      hashes.add(hash);
      previous = entry;
    }
    // The head is the hash of the last entry appended: a trail that ends elsewhere lost its last entries.
    const head = await this.redis.get(this.headKey);
    const last = previous === undefined ? (anchor ?? AUDIT_GENESIS) : previous.hash;
    if (head !== null && head !== last) {
      problems.push({
        id: previous?.id ?? '0-0',
        message: `the trail ends ${previous === undefined ? 'empty' : `at entry ${previous.id}`}, but the last entry written has hash ${head.slice(0, 12)}…: entries at its end were removed`,
      });
    }
    // Known only at the end: a predecessor found later in the stream was moved, one found nowhere was removed.
    for (const { id, prev } of seen) {
      problems.push({
        id,
        message: hashes.has(prev)
          ? `entry ${id} is out of order: the entry it follows comes later in the trail (entries were reordered)`
          : `entry ${id} does not follow the entry before it: the entry it follows is missing (an entry was removed)`,
      });
    }
    problems.sort((a, b) => compareIds(a.id, b.id));
    return { entries, problems, trimmedBefore: anchor !== null };
  }
}

/** sha256 over the previous hash and the entry's canonical JSON (keys sorted, so any writer hashes alike). */
export function entryHash(prev: string, entry: object): string {
  return createHash('sha256').update(prev).update('\n').update(canonicalJson(entry)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const members = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${members.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function parseStored(fields: string[]): unknown {
  const at = fields.indexOf('entry');
  let value: unknown;
  try {
    value = JSON.parse(fields[at + 1] ?? '');
  } catch {
    value = undefined;
  }
  // Unreadable, or not an entry (null, a number, a hash that is no string), is an edit too: its hash will not match.
  const entry = value as { prev?: unknown; hash?: unknown } | null;
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || typeof entry.prev !== 'string' || typeof entry.hash !== 'string') {
    return { prev: '', hash: '', unreadable: fields[at + 1] ?? '' };
  }
  return entry;
}

function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}
