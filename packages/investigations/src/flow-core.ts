/**
 * Loads the flow-log core (wasm/flow-core.ts compiled to flow-core.wasm) and checks, index
 * by index, that its layout is the one this side reads and writes: row fields, minute
 * fields, op codes, filter codes, configuration fields and limits. The core exports each of
 * them as a global (its layout descriptor); a core built from other sources, or a reorder
 * on either side, fails at load with the name of the first index that differs, instead of
 * silently totalling into the wrong field.
 */
import { readFileSync } from 'node:fs';
import { MAX_LINE_BYTES } from './flow-log-format.js';

/** What this side expects of the core, by the name the core exports it under. */
export const CORE_LAYOUT = {
  // Limits.
  MAX_LINE_BYTES,
  MAX_CONVERSATIONS: 1_000_000,
  MAX_MINUTES: 2 ** 20,
  MAX_OPS: 65536,
  MAX_LOCALS: 64,
  ROW: 12,
  MINUTE_ROW: 5,
  READ_BYTES: 1 << 20,
  INFLATE_BYTES: 1 << 16,
  SCRATCH_BYTES: 1 << 20,
  // Row fields (f64 index within a conversation's row).
  ROW_ADDRESS: 0,
  ROW_KEY: 1,
  ROW_IN_BYTES: 2,
  ROW_OUT_BYTES: 3,
  ROW_IN_PACKETS: 4,
  ROW_OUT_PACKETS: 5,
  ROW_ACCEPTED_OUT_BYTES: 6,
  ROW_ACCEPTED: 7,
  ROW_REJECTED: 8,
  ROW_FIRST_SEEN: 9,
  ROW_LAST_SEEN: 10,
  ROW_OPENED: 11,
  // Minute fields.
  MINUTE_AT: 0,
  MINUTE_IN_BYTES: 1,
  MINUTE_OUT_BYTES: 2,
  MINUTE_ACCEPTED: 3,
  MINUTE_REJECTED: 4,
  // Op codes: what the parser does with a column.
  OP_SKIP: 0,
  OP_SRCADDR: 1,
  OP_DSTADDR: 2,
  OP_SRCPORT: 3,
  OP_DSTPORT: 4,
  OP_PROTOCOL: 5,
  OP_PACKETS: 6,
  OP_BYTES: 7,
  OP_START: 8,
  OP_END: 9,
  OP_TCP_FLAGS: 10,
  OP_ACTION: 11,
  OP_LOG_STATUS: 12,
  OP_INTERFACE: 13,
  OP_FLOW_DIRECTION: 14,
  // A row's OPENED bits, and the filters' codes.
  OPENED_BY_REMOTE: 1,
  OPENED_BY_LOCAL: 2,
  DIRECTION_INBOUND: 1,
  DIRECTION_OUTBOUND: 2,
  ACTION_ACCEPT: 1,
  ACTION_REJECT: 2,
  // Configuration block fields.
  CONFIG_LOCALS: 0,
  CONFIG_ENI_LENGTH: 1,
  CONFIG_LOCAL_PORTS: 2,
  CONFIG_REMOTE_PORTS: 3,
  CONFIG_PROTOCOLS: 4,
  CONFIG_DIRECTION: 5,
  CONFIG_ACTION: 6,
  CONFIG_REMOTE: 7,
  CONFIG_FROM: 8,
  CONFIG_TO: 9,
  CONFIG_CAPACITY: 10,
  CONFIG_FIELDS: 11,
  // Indices of the totals at STATS.
  STAT_TOTAL: 0,
  STAT_MATCHED: 1,
  STAT_NODATA: 2,
  STAT_SKIPDATA: 3,
  STAT_MINUTE_OVERFLOW: 4,
} as const;

/** Byte offsets of the core's regions: taken from the core as they are, never written here. */
const REGIONS = ['STATS', 'CONFIG', 'LOCALS', 'ENI', 'LOCAL_PORTS', 'REMOTE_PORTS', 'PROTOCOLS', 'OPS', 'READ', 'INFLATE', 'SCRATCH', 'VERDICTS', 'ROWS', 'MINUTES', 'MEMORY_BYTES'] as const;

export type CoreRegions = Record<(typeof REGIONS)[number], number>;

/**
 * Checks the core's exported globals against CORE_LAYOUT and returns its regions. Every
 * index this side uses must be exported with the same value, and every global the core
 * exports must be one this side knows: a field added on one side only fails too.
 */
export function checkCoreLayout(globals: Readonly<Record<string, number>>): CoreRegions {
  const rebuild = 'rebuild it with `npm run build:wasm -w @orgshield/investigations`';
  for (const [name, expected] of Object.entries(CORE_LAYOUT)) {
    const actual = globals[name];
    if (actual !== expected) {
      throw new Error(`flow-core.wasm does not match flow-core.ts: ${name} is ${actual === undefined ? 'missing' : actual} in the core and ${expected} here; ${rebuild}.`);
    }
  }
  for (const name of Object.keys(globals)) {
    if (!(name in CORE_LAYOUT) && !(REGIONS as readonly string[]).includes(name)) {
      throw new Error(`flow-core.wasm exports ${name}, which flow-core.ts does not know; ${rebuild}.`);
    }
  }
  for (const name of REGIONS) {
    if (typeof globals[name] !== 'number') throw new Error(`flow-core.wasm exports no ${name}; ${rebuild}.`);
  }
  return Object.fromEntries(REGIONS.map((name) => [name, globals[name]!])) as CoreRegions;
}

/** The part of the WebAssembly API used here (the project's types are Node's, which leave it out). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  Global: abstract new () => { value: unknown };
};
type WasmModule = { readonly wasmModule: unique symbol };

/** The core's functions. */
export interface CoreFunctions {
  memory: { buffer: ArrayBuffer };
  /** Reads the configuration block at CONFIG. */
  configure(): void;
  /** The format of the next lines: `count` ops at OPS. */
  setOps(count: number): void;
  lines(from: number, to: number, firstLine: number): number;
  /** The row of a conversation, created when new (the table spills first when at capacity). */
  find(address: number, key: number): number;
  /** Totals `count` rows at byte offset `from` (the table's layout, this table's address ids) into the table. */
  mergeRows(from: number, count: number): void;
  clearConversations(): void;
  addMinute(minute: number, inBytes: number, outBytes: number, accepted: number, rejected: number): void;
  conversationCount(): number;
  minuteCount(): number;
}

/** The core's calls out, answered by the accumulator that owns the instance. */
export type CoreCalls = {
  /** The id of the address written at [start, end), or -1 when it is not an IP address. */
  addressId(start: number, end: number): number;
  remotePasses(address: number): boolean;
  malformed(start: number, end: number, line: number, column: number, at: number): void;
  tooLong(line: number): void;
  /** The table is at capacity: its first `count` rows are to be written out now (it is emptied on return). */
  spill(count: number): void;
};

let compiled: WasmModule | undefined;

/** The compiled core, compiled once per thread (a few kilobytes: well under a millisecond). */
function coreModule(): WasmModule {
  compiled ??= new WebAssembly.Module(readFileSync(new URL('./flow-core.wasm', import.meta.url)));
  return compiled;
}

function exportedGlobals(exports: Record<string, unknown>): Record<string, number> {
  return Object.fromEntries(Object.entries(exports).flatMap(([name, value]) => (value instanceof WebAssembly.Global ? [[name, value.value as number]] : [])));
}

/** A new instance of the core, its layout checked. */
export function instantiateCore(calls: CoreCalls): { core: CoreFunctions; regions: CoreRegions } {
  const instance = new WebAssembly.Instance(coreModule(), { flow: calls });
  return { core: instance.exports as unknown as CoreFunctions, regions: checkCoreLayout(exportedGlobals(instance.exports)) };
}

/** The layout descriptor (exported globals) of a compiled core, unchecked: for tests of other builds. */
export function coreGlobals(wasm: Uint8Array): Record<string, number> {
  const calls: CoreCalls = { addressId: () => -1, remotePasses: () => true, malformed: () => undefined, tooLong: () => undefined, spill: () => undefined };
  return exportedGlobals(new WebAssembly.Instance(new WebAssembly.Module(wasm), { flow: calls }).exports);
}
