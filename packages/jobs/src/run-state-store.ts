import { OrgshieldError } from '@orgshield/errors';
import type { LockLease } from './fenced-lock.js';
import { assertOneSlot, type RedisClient } from './redis-connection.js';
import { DEFAULT_RUN_RETENTION, type RunRetention } from './run-retention.js';

/**
 * Redis state of runs (rollouts, drills, recording setups), every multi-key change one script:
 * no crash point leaves a record without state, a stored value unlisted, a name claimed by
 * nothing, or a write under a lost lock counted. Every key a script touches is passed in KEYS or
 * derived inside it from a KEYS entry (never from ARGV), and all of them start with the layout's
 * key prefix: on a Redis Cluster that prefix carries a hash tag, so each script runs on one slot.
 */

/** What every run's state has: the status the guards compare, and the generation resumes bump. */
export interface RunStateBase {
  status: string;
  generation: number;
}

export interface RunEventBase {
  at: string;
}

/** Where a run's keys live and which of its statuses let go of its name. */
export interface RunStateLayout {
  /** e.g. `orgshield:firewall`: the queue prefix and the domain. */
  keyPrefix: string;
  /** e.g. `rollout`: runs live at `<keyPrefix>:<kind>:<id>`, their index at `<keyPrefix>:<kind>s`. */
  kind: string;
  /** Statuses after which another run of the same name may start. */
  releasedStatuses: readonly string[];
  retention?: RunRetention;
  /** Events kept per run; the oldest are trimmed (readers go by stream id, so none is skipped or repeated). */
  maxEvents?: number;
}

/**
 * Creates the record and state together, indexed, with the name claimed in the same step. A
 * name held by a run whose state is gone (expired) or released is taken over. The holder's state
 * key is derived from the index key (`<base>s` -> `<base>:<holder>:state`), so it shares its slot.
 * KEYS: record, state, index, claim (the run's own note of its name), name
 * ARGV: record, state, score, id, ttl, name ('' for none), released statuses (JSON), index cutoff
 */
const CREATE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists'} end
if ARGV[6] ~= '' then
  local holder = redis.call('GET', KEYS[5])
  if holder and holder ~= ARGV[4] then
    local held = redis.call('GET', string.sub(KEYS[3], 1, -2) .. ':' .. holder .. ':state')
    if held then
      local status = cjson.decode(held).status
      local released = false
      for _, s in ipairs(cjson.decode(ARGV[7])) do if s == status then released = true end end
      if not released then return {'held', holder} end
    end
  end
  redis.call('SET', KEYS[5], ARGV[4])
  redis.call('SET', KEYS[4], ARGV[6], 'PX', ARGV[5])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[5])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[8])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return {'created'}
`;

/**
 * Compare-and-set of the state, with its event and (optionally) the release of the run's name
 * in the same step. The name is read from the claim before the script (a run's name never
 * changes), so the name key is passed, not built here.
 * KEYS: state, record, events, name (or state again when nothing is released)
 * ARGV: expected, next, id, ttl, release ('1'/'0'), event ('' for none), max events
 */
const TRANSITION_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if ARGV[5] == '1' and redis.call('GET', KEYS[4]) == ARGV[3] then redis.call('DEL', KEYS[4]) end
if ARGV[6] ~= '' then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'event', ARGV[6])
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
return 1
`;

/** A field set once (the first value wins) and listed in the order first set, together. KEYS: hash, order */
const ADD_ONCE_LUA = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`;

/**
 * Work items a step inside the guard takes (claims): each field not set in the done hash (done
 * already) nor held by another step still inside the guard (a member of inflight whose deadline
 * is ahead) is held by this step from now on. One letter per field: h held, d done, t taken by
 * another step. Two steps that overlap, a rerun beside its first run or two batches sharing
 * items, so never both work on one item. Run inside a script that has `now` (TIME, in ms).
 */
const CLAIM_FIELDS_LUA = `
local function claimFields(inflight, claims, done, member, nowMs, ttl, first)
  local answer = {}
  for index = first, #ARGV do
    local field = ARGV[index]
    local letter = 'h'
    if redis.call('HEXISTS', done, field) == 1 then
      letter = 'd'
    else
      local holder = redis.call('HGET', claims, field)
      local deadline = holder and holder ~= member and redis.call('ZSCORE', inflight, holder)
      if deadline and tonumber(deadline) > nowMs then letter = 't' else redis.call('HSET', claims, field, member) end
    end
    answer[#answer + 1] = letter
  end
  if #answer > 0 then redis.call('PEXPIRE', claims, ttl) end
  return table.concat(answer)
end
`;

/**
 * A step enters the run's guard: only while the run is in the wanted status and generation,
 * and only when its result is not recorded already (the field of the done hash, when one is
 * given: the value found is returned instead), registered as under way (until its deadline,
 * renewed while it runs) in the same step, so a rollback, pause or abort either comes first and
 * the step refuses, or waits for it; with the work items it claims (CLAIM_FIELDS_LUA), if any.
 * One round trip for every check a step makes before working.
 * KEYS: state, inflight, done hash (or state when no done check), claims hash, claims' done hash (state, state for none).
 * ARGV: status, generation, member, ttl, done field ('' for none), run ttl, fields to claim...
 */
const ENTER_LUA = `${CLAIM_FIELDS_LUA}
local text = redis.call('GET', KEYS[1])
if not text then return {'missing'} end
local state = cjson.decode(text)
if tostring(state.generation) ~= ARGV[2] then return {'superseded'} end
if state.status ~= ARGV[1] then return {state.status} end
if ARGV[5] ~= '' then
  local done = redis.call('HGET', KEYS[3], ARGV[5])
  if done then return {'done', done} end
end
local now = redis.call('TIME')
local nowMs = now[1] * 1000 + math.floor(now[2] / 1000)
redis.call('ZADD', KEYS[2], nowMs + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4] * 2)
return {'ok', claimFields(KEYS[2], KEYS[4], KEYS[5], ARGV[3], nowMs, ARGV[6], 7)}
`;

/** More claims of a step still inside the guard (CLAIM_FIELDS_LUA). KEYS: inflight, claims, done. ARGV: member, run ttl, fields... */
const CLAIM_LUA = `${CLAIM_FIELDS_LUA}
local now = redis.call('TIME')
local nowMs = now[1] * 1000 + math.floor(now[2] / 1000)
local deadline = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not deadline or tonumber(deadline) <= nowMs then return {'guard-lost'} end
return {'ok', claimFields(KEYS[1], KEYS[2], KEYS[3], ARGV[1], nowMs, ARGV[2], 3)}
`;

/** KEYS: inflight. ARGV: member, ttl. 1 if still registered (and renewed). */
const RENEW_STEP_LUA = `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local now = redis.call('TIME')
redis.call('ZADD', KEYS[1], now[1] * 1000 + math.floor(now[2] / 1000) + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2] * 2)
return 1
`;

/**
 * Records a step's result, appends its event (when it has one) and leaves the guard in one
 * step, only if the step still holds the guard and (when it worked under a lock) the lock's
 * token is still its own: a write made under a lost lock or a lapsed guard is not counted.
 * With `report`, the run's state and the fields of the hash written (the steps done, itself
 * included, as one JSON array: one reply to encode and parse, not one per field) come back with
 * the outcome: what the step needs to decide what follows, without a round trip of its own.
 * KEYS: inflight, hash, lock (or inflight again), events (or inflight again), state.
 * ARGV: member, field, value, ttl, lock token ('' for none), event ('' for none), max events, report ('1'/'0')
 */
const COMPLETE_LUA = `
if ARGV[5] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[5] then return {'lock-lost'} end
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return {'guard-lost'} end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if ARGV[6] ~= '' then
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*', 'event', ARGV[6])
  redis.call('PEXPIRE', KEYS[4], ARGV[4])
end
if ARGV[8] ~= '1' then return {'counted'} end
return {'counted', redis.call('GET', KEYS[5]) or '', cjson.encode(redis.call('HKEYS', KEYS[2]))}
`;

/** Drops entries whose holder died (deadline passed) and returns the steps still under way (their members). KEYS: inflight */
const UNDER_WAY_LUA = `
local now = redis.call('TIME')
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now[1] * 1000 + math.floor(now[2] / 1000))
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;

interface RunCommands {
  orgshieldRunCreate(...args: (string | number)[]): Promise<string[]>;
  orgshieldRunTransition(...args: (string | number)[]): Promise<number>;
  orgshieldRunAddOnce(...args: (string | number)[]): Promise<number>;
  orgshieldRunEnter(...args: (string | number)[]): Promise<string[]>;
  orgshieldRunClaim(...args: (string | number)[]): Promise<string[]>;
  orgshieldRunRenewStep(...args: (string | number)[]): Promise<number>;
  orgshieldRunComplete(...args: (string | number)[]): Promise<string[]>;
  orgshieldRunUnderWay(key: string): Promise<string[]>;
}

export type CreateOutcome = { created: true } | { created: false; exists: true } | { created: false; exists: false; holder: string };

/** What a step records as it leaves the guard: `value` under `field` of the run's `part` hash, with its event. */
export interface StepResultWrite<E extends RunEventBase = RunEventBase> {
  part: string;
  field: string;
  value: string;
  /** The lock the step worked under: the result counts only while its token is still the step's. */
  lease?: LockLease;
  event?: Omit<E, 'at'>;
}

/** The run as a step left it: its state, and the fields of the hash the step wrote (its own included). */
export interface RunAfterStep<S> {
  state: S | undefined;
  fields: string[];
}

/** A step inside a run's guard: its result is recorded with `complete` (or `completeAndRead`), which also leaves the guard. */
export interface StepGuard<S extends RunStateBase = RunStateBase, E extends RunEventBase = RunEventBase> {
  /**
   * Records the result, appends its event and leaves the guard, in one step; returns false
   * (recording nothing) when the guard lapsed or the lock `lease` was lost meanwhile.
   */
  complete(write: StepResultWrite<E>): Promise<boolean>;
  /**
   * `complete`, answered with the run's state and the fields of the hash written, read in the
   * same script right after recording (undefined when nothing was recorded): a step decides
   * what follows it without reading the run again.
   */
  completeAndRead(write: StepResultWrite<E>): Promise<RunAfterStep<S> | undefined>;
  /** The work items (guarded's `claims`) this step took as it entered, and those another step inside the guard holds. */
  readonly claimed: Claimed;
  /**
   * Claims items again (those another step held, once it may have finished): those done since
   * are dropped, those whose holder left the guard (done or lapsed) are this step's now. Throws
   * StepGuardLostError when this step's own place lapsed.
   */
  claim(fields: readonly string[]): Promise<Claimed>;
}

/** Work items of a step: `held` are its own to do; `taken` are held by another step inside the guard (done items are in neither). */
export interface Claimed {
  held: string[];
  taken: string[];
}

/** The items of `fields` by the letters the claim script answered (h held, t taken, d done). */
function claimedFrom(fields: readonly string[], letters: string | undefined): Claimed {
  const claimed: Claimed = { held: [], taken: [] };
  fields.forEach((field, index) => {
    const letter = letters?.[index];
    if (letter === 'h') claimed.held.push(field);
    else if (letter === 't') claimed.taken.push(field);
  });
  return claimed;
}

export class StepGuardLostError extends OrgshieldError {
  constructor(runId: string, why: string) {
    super('StepGuardLost', `run ${runId}: ${why}; the step's result was not recorded and the step is retried.`);
  }
}

export class RunStateStore<R extends object, S extends RunStateBase, E extends RunEventBase> {
  readonly retention: RunRetention;
  private readonly commands: RunCommands;
  private readonly base: string;

  constructor(
    readonly redis: RedisClient,
    private readonly layout: RunStateLayout,
  ) {
    assertOneSlot(redis, layout.keyPrefix);
    this.retention = layout.retention ?? DEFAULT_RUN_RETENTION;
    this.base = `${layout.keyPrefix}:${layout.kind}`;
    if (!('orgshieldRunCreate' in redis)) {
      redis.defineCommand('orgshieldRunCreate', { numberOfKeys: 5, lua: CREATE_LUA });
      redis.defineCommand('orgshieldRunTransition', { numberOfKeys: 4, lua: TRANSITION_LUA });
      redis.defineCommand('orgshieldRunAddOnce', { numberOfKeys: 2, lua: ADD_ONCE_LUA });
      redis.defineCommand('orgshieldRunEnter', { numberOfKeys: 5, lua: ENTER_LUA });
      redis.defineCommand('orgshieldRunClaim', { numberOfKeys: 3, lua: CLAIM_LUA });
      redis.defineCommand('orgshieldRunRenewStep', { numberOfKeys: 1, lua: RENEW_STEP_LUA });
      redis.defineCommand('orgshieldRunComplete', { numberOfKeys: 5, lua: COMPLETE_LUA });
      redis.defineCommand('orgshieldRunUnderWay', { numberOfKeys: 1, lua: UNDER_WAY_LUA });
    }
    this.commands = redis as unknown as RunCommands;
  }

  /** A key of run `id`: its record with no parts, else `<record>:<part>...`. */
  runKey(id: string, ...parts: string[]): string {
    return [this.base, id, ...parts].join(':');
  }

  nameKey(name: string): string {
    return `${this.layout.keyPrefix}:active:${name}`;
  }

  private get ttl(): number {
    return this.retention.runsMs;
  }

  /** Record, state, index entry and name claim in one step; a run that exists is left as it is. */
  async create(run: { id: string; name?: string; record: R; state: S; createdAt: number }): Promise<CreateOutcome> {
    const [outcome, holder] = await this.commands.orgshieldRunCreate(
      this.runKey(run.id),
      this.runKey(run.id, 'state'),
      `${this.base}s`,
      this.runKey(run.id, 'claim'),
      this.nameKey(run.name ?? ''),
      JSON.stringify(run.record),
      JSON.stringify(run.state),
      run.createdAt,
      run.id,
      this.ttl,
      run.name ?? '',
      JSON.stringify(this.layout.releasedStatuses),
      Date.now() - this.ttl,
    );
    if (outcome === 'created') return { created: true };
    if (outcome === 'held' && holder) return { created: false, exists: false, holder };
    return { created: false, exists: true };
  }

  async record(id: string): Promise<R | undefined> {
    const text = await this.redis.get(this.runKey(id));
    return text ? (JSON.parse(text) as R) : undefined;
  }

  /** Replaces the record of a run that exists (a plan added to it), keeping it for the retention. */
  async saveRecord(id: string, record: R): Promise<void> {
    const saved = await this.redis.set(this.runKey(id), JSON.stringify(record), 'PX', this.ttl, 'XX');
    if (saved !== 'OK') throw new OrgshieldError('UnknownRun', `${this.layout.kind} ${id} has no record in Redis (expired or never created).`);
  }

  async state(id: string): Promise<S | undefined> {
    const text = await this.redis.get(this.runKey(id, 'state'));
    return text ? (JSON.parse(text) as S) : undefined;
  }

  /**
   * Changes the state when its status is one of `from`, with its event in the same step;
   * returns the new state, or undefined when the status was another (someone moved it first).
   * Moving to a released status, or `releaseName`, lets go of the run's name in the same step.
   */
  async transition(
    id: string,
    from: readonly string[],
    change: (current: S) => Partial<S> & Pick<S, 'status'>,
    options: { event?: (next: S) => Omit<E, 'at'> | undefined; releaseName?: boolean } = {},
  ): Promise<S | undefined> {
    const key = this.runKey(id, 'state');
    for (let attempt = 0; attempt < 20; attempt++) {
      const text = await this.redis.get(key);
      if (!text) return undefined;
      const current = JSON.parse(text) as S;
      if (!from.includes(current.status)) return undefined;
      const next: S = { ...current, ...change(current) };
      const event = options.event?.(next);
      const release = options.releaseName === true || this.layout.releasedStatuses.includes(next.status);
      const name = release ? await this.redis.get(this.runKey(id, 'claim')) : null;
      const moved = await this.commands.orgshieldRunTransition(
        key,
        this.runKey(id),
        this.runKey(id, 'events'),
        name === null ? key : this.nameKey(name),
        text,
        JSON.stringify(next),
        id,
        this.ttl,
        name === null ? '0' : '1',
        event ? JSON.stringify({ at: new Date().toISOString(), ...event }) : '',
        this.layout.maxEvents ?? 10_000,
      );
      if (moved === 1) return next;
    }
    throw new OrgshieldError('StateContention', `${this.layout.kind} ${id}: its state kept changing while being updated; try again.`);
  }

  /** Sets a field of one of the run's hashes. */
  async setField(id: string, part: string, field: string, value: string): Promise<void> {
    const key = this.runKey(id, part);
    await this.redis.multi().hset(key, field, value).pexpire(key, this.ttl).exec();
  }

  /** Sets several fields of one of the run's hashes in one step. */
  async setFields(id: string, part: string, entries: ReadonlyMap<string, string>): Promise<void> {
    if (entries.size === 0) return;
    const key = this.runKey(id, part);
    await this.redis.multi().hset(key, Object.fromEntries(entries)).pexpire(key, this.ttl).exec();
  }

  async deleteField(id: string, part: string, field: string): Promise<void> {
    await this.redis.hdel(this.runKey(id, part), field);
  }

  /** The values of `fields` (undefined where unset), without reading the rest of the hash. */
  async someFields(id: string, part: string, fields: readonly string[]): Promise<(string | undefined)[]> {
    if (fields.length === 0) return [];
    return (await this.redis.hmget(this.runKey(id, part), ...fields)).map((value) => value ?? undefined);
  }

  async field(id: string, part: string, field: string): Promise<string | undefined> {
    return (await this.redis.hget(this.runKey(id, part), field)) ?? undefined;
  }

  async fields(id: string, part: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.runKey(id, part));
  }

  /** Sets a field only the first time, listing it in order in the same step; false if it was set already. */
  async addOnce(id: string, part: string, field: string, value: string): Promise<boolean> {
    return (await this.commands.orgshieldRunAddOnce(this.runKey(id, part), this.runKey(id, part, 'order'), field, value, this.ttl)) === 1;
  }

  /** The values set with addOnce, in the order they were first set. */
  async ordered(id: string, part: string): Promise<string[]> {
    const [order, entries] = await Promise.all([this.redis.lrange(this.runKey(id, part, 'order'), 0, -1), this.fields(id, part)]);
    return [...new Set(order)].flatMap((field) => (entries[field] === undefined ? [] : [entries[field]]));
  }

  async addEvent(id: string, event: Omit<E, 'at'>): Promise<void> {
    const key = this.runKey(id, 'events');
    await this.redis
      .multi()
      .xadd(key, 'MAXLEN', '~', this.layout.maxEvents ?? 10_000, '*', 'event', JSON.stringify({ at: new Date().toISOString(), ...event }))
      .pexpire(key, this.ttl)
      .exec();
  }

  /**
   * Events after `cursor` (a stream id; from the first when absent) and the cursor to ask with
   * next. Trimming drops the oldest entries only, so a reader never skips or repeats one.
   */
  async events(id: string, cursor?: string): Promise<{ events: E[]; cursor: string | undefined }> {
    const entries = await this.redis.xrange(this.runKey(id, 'events'), cursor ? `(${cursor}` : '-', '+');
    const events = entries.flatMap(([, fields]) => (fields[1] === undefined ? [] : [JSON.parse(fields[1]) as E]));
    return { events, cursor: entries.at(-1)?.[0] ?? cursor };
  }

  /** The id of the latest event, to follow only what comes after it. */
  async lastEventCursor(id: string): Promise<string | undefined> {
    const [latest] = await this.redis.xrevrange(this.runKey(id, 'events'), '+', '-', 'COUNT', 1);
    return latest?.[0];
  }

  /** The run holding `name`, if any. */
  async nameHolder(name: string): Promise<string | undefined> {
    return (await this.redis.get(this.nameKey(name))) ?? undefined;
  }

  /** Newest first. */
  async list(limit = 50): Promise<string[]> {
    return this.redis.zrevrange(`${this.base}s`, 0, limit - 1);
  }

  /**
   * Runs a step inside the run's guard: entered only while the run is `status` at `generation`
   * (else `work` does not run and the status found is returned) and, with `done`, only while
   * that field of that hash is unset (else the value recorded is returned); renewed while `work`
   * runs, left when it ends. A rollback waits (waitForSteps) for every step inside. With
   * `claims`, the step takes those of `fields` (work items) not set in the `doneIn` hash and not
   * held by another step inside the guard (guard.claimed), so two steps that overlap (a rerun of
   * a job beside its first run, two jobs sharing items) never work on one item at once; a
   * step's items are free again as soon as it leaves the guard or its place lapses.
   */
  async guarded<T>(
    id: string,
    options: { status: string; generation: number; member: string; ttlMs?: number; done?: { part: string; field: string }; claims?: { part: string; doneIn: string; fields: readonly string[] } },
    work: (guard: StepGuard<S, E>) => Promise<T>,
  ): Promise<{ entered: true; value: T } | { entered: false; status: string; done?: string }> {
    const inflight = this.runKey(id, 'inflight');
    const stateKey = this.runKey(id, 'state');
    const ttlMs = options.ttlMs ?? 30_000;
    const { claims } = options;
    const claimsKey = claims ? this.runKey(id, claims.part) : stateKey;
    const claimsDoneKey = claims ? this.runKey(id, claims.doneIn) : stateKey;
    const [entered = 'missing', answer] = await this.commands.orgshieldRunEnter(
      stateKey,
      inflight,
      options.done ? this.runKey(id, options.done.part) : stateKey,
      claimsKey,
      claimsDoneKey,
      options.status,
      options.generation,
      options.member,
      ttlMs,
      options.done?.field ?? '',
      this.ttl,
      ...(claims?.fields ?? []),
    );
    if (entered === 'done') return { entered: false, status: options.status, done: answer ?? '' };
    if (entered !== 'ok') return { entered: false, status: entered };
    const renewal = setInterval(() => void this.commands.orgshieldRunRenewStep(inflight, options.member, ttlMs).catch(() => undefined), Math.max(10, Math.floor(ttlMs / 3)));
    let completed = false;
    const record = async ({ part, field, value, lease, event }: StepResultWrite<E>, report: boolean): Promise<RunAfterStep<S> | undefined> => {
      const [outcome, state, fields] = await this.commands.orgshieldRunComplete(
        inflight,
        this.runKey(id, part),
        lease?.key ?? inflight,
        event ? this.runKey(id, 'events') : inflight,
        stateKey,
        options.member,
        field,
        value,
        this.ttl,
        lease?.token ?? '',
        event ? JSON.stringify({ at: new Date().toISOString(), ...event }) : '',
        this.layout.maxEvents ?? 10_000,
        report ? '1' : '0',
      );
      completed = outcome === 'counted';
      if (!completed) return undefined;
      return { state: state ? (JSON.parse(state) as S) : undefined, fields: fields ? (JSON.parse(fields) as string[]) : [] };
    };
    const guard: StepGuard<S, E> = {
      complete: async (write) => (await record(write, false)) !== undefined,
      completeAndRead: (write) => record(write, true),
      claimed: claimedFrom(claims?.fields ?? [], answer),
      claim: async (fields) => {
        if (!claims) throw new Error(`step ${options.member} claims work items, but entered the guard without claims.`);
        if (fields.length === 0) return { held: [], taken: [] };
        const [outcome, letters] = await this.commands.orgshieldRunClaim(inflight, claimsKey, claimsDoneKey, options.member, this.ttl, ...fields);
        if (outcome !== 'ok') throw new StepGuardLostError(id, `step ${options.member} lost its place in the guard while claiming its work`);
        return claimedFrom(fields, letters);
      },
    };
    try {
      return { entered: true, value: await work(guard) };
    } finally {
      clearInterval(renewal);
      if (!completed) await this.redis.zrem(inflight, options.member).catch(() => undefined);
    }
  }

  /** The steps inside the run's guard now, by the member each entered with (those whose worker died count until their deadline). */
  async stepsUnderWay(id: string): Promise<string[]> {
    return this.commands.orgshieldRunUnderWay(this.runKey(id, 'inflight'));
  }

  /** Waits until no step is inside the run's guard (stepsUnderWay). */
  async waitForSteps(id: string, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    while ((await this.stepsUnderWay(id)).length > 0) {
      if (Date.now() > deadline) throw new OrgshieldError('StepsUnderWay', `${this.layout.kind} ${id} still has steps under way; try again once they finish.`);
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
    }
  }
}
