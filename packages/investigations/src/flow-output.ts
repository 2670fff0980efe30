/**
 * What `orgshield flows analyze` prints, written as it is produced: the JSON document
 * (conversations one by one, read in order from the analysis, never built whole) and the
 * CSV of the conversations, one row each.
 */
import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Conversation, type ConversationList, RunList } from './flow-accumulator.js';
import type { FlowAnalysis } from './flow-analysis.js';
import { startThread } from './flow-thread.js';

/** Takes the next piece of output; resolves when it may be given the next (a stream's backpressure). */
export type OutputSink = (text: string) => Promise<void>;

/** Text is handed on in pieces of about this size. */
const PIECE_CHARS = 1 << 16;

/**
 * Collects small texts into pieces for the sink: `add` is synchronous and says when a piece
 * is full (then `flush` hands it on), so a million rows are not a million awaited promises.
 */
function piecewise(sink: OutputSink): { add(text: string): boolean; flush(): Promise<void>; sink: OutputSink } {
  let piece = '';
  return {
    sink,
    add(text) {
      piece += text;
      return piece.length >= PIECE_CHARS;
    },
    async flush() {
      if (piece.length === 0) return;
      const full = piece;
      piece = '';
      await sink(full);
    },
  };
}

/**
 * A list of at least this many conversations read from disk is written by two threads:
 * this one writes its first half while an output thread writes the second to a file,
 * handed on after the first.
 */
const PARALLEL_ROWS = 200_000;

export interface WriteOptions {
  /** Conversations read from disk at least this many are written by two threads (default PARALLEL_ROWS). */
  parallelRows?: number;
}

/** How a conversation is written: a CSV row, or a JSON line (after the first, which has no comma). */
export type RowFormat = 'csv' | 'json';

export function rowText(format: RowFormat, c: Conversation, first: boolean): string {
  return format === 'csv' ? conversationCsv(c) : `${first ? '\n    ' : ',\n    '}${conversationJson(c)}`;
}

let outputFiles = 0;

/**
 * Writes every conversation in `format` to the sink, in order: a long list read from disk
 * in two halves at once (see PARALLEL_ROWS), else one by one. Whether any was written.
 */
async function writeRows(conversations: ConversationList, format: RowFormat, out: ReturnType<typeof piecewise>, parallelRows: number): Promise<boolean> {
  const halves = conversations instanceof RunList && conversations.length >= parallelRows ? conversations.split() : null;
  const parallel = halves !== null && halves[0].length > 0 && halves[1].length > 0;
  const writeHead = async (head: ConversationList): Promise<boolean> => {
    let first = true;
    for (const c of head) {
      if (out.add(rowText(format, c, first))) await out.flush();
      first = false;
    }
    return !first;
  };
  if (!parallel) return writeHead(conversations);
  const shared = halves[1].shared();
  // Beside the runs, in the analysis's temporary folder (removed with it, on exit and on Ctrl-C too).
  const path = join(dirname(shared.ranges[0]!.path), `output-${process.pid}-${outputFiles++}.txt`);
  const thread = startThread('flow-output-worker', { list: shared, format, path }, { maxYoungGenerationSizeMb: 16 });
  const written = new Promise<void>((resolve, reject) => {
    thread.on('message', () => resolve());
    thread.on('error', reject);
    thread.on('exit', (code) => reject(new Error(`The flow output thread stopped (exit code ${code}) before it finished.`)));
  });
  written.catch(() => undefined); // awaited below; a failure while the first half is written must not go unhandled
  try {
    await writeHead(halves[0]);
    await written;
    await out.flush();
    const fd = openSync(path, 'r');
    try {
      const chunk = Buffer.allocUnsafe(1 << 20);
      for (let read = readSync(fd, chunk); read > 0; read = readSync(fd, chunk)) await out.sink(chunk.toString('latin1', 0, read));
    } finally {
      closeSync(fd);
    }
    return true;
  } finally {
    await thread.terminate();
    rmSync(path, { force: true });
  }
}

/** A conversation as the JSON prints it: exactly Conversation's keys, in its order. */
function conversationJson(c: Conversation): string {
  return JSON.stringify({
    remoteIp: c.remoteIp, localPort: c.localPort, remotePort: c.remotePort, protocol: c.protocol, direction: c.direction,
    inBytes: c.inBytes, outBytes: c.outBytes, inPackets: c.inPackets, outPackets: c.outPackets, accepted: c.accepted, rejected: c.rejected,
    firstSeen: c.firstSeen, lastSeen: c.lastSeen, ...(c.fromFinding ? { fromFinding: true } : {}),
  });
}

/**
 * Writes `{records, conversations, timeline, findings, problems}` (flowAnalysisJsonSchema),
 * one conversation per line, the rest indented as JSON.stringify indents it.
 */
export async function writeFlowAnalysisJson(analysis: FlowAnalysis, sink: OutputSink, options: WriteOptions = {}): Promise<void> {
  const out = piecewise(sink);
  const field = (name: string, value: unknown): string => `  ${JSON.stringify(name)}: ${JSON.stringify(value, null, 2).replaceAll('\n', '\n  ')}`;
  out.add(`{\n${field('records', analysis.records)},\n  "conversations": [`);
  const any = await writeRows(analysis.conversations, 'json', out, options.parallelRows ?? PARALLEL_ROWS);
  out.add(`${any ? '\n  ' : ''}],\n${field('timeline', analysis.timeline)},\n${field('findings', analysis.findings)},\n${field('problems', analysis.problems)}\n}\n`);
  await out.flush();
}

export const CONVERSATION_CSV_COLUMNS = [
  'remoteIp', 'localPort', 'remotePort', 'protocol', 'direction', 'inBytes', 'outBytes', 'inPackets', 'outPackets', 'accepted', 'rejected',
  'firstSeen', 'lastSeen', 'fromFinding',
] as const;

/** One row per conversation, largest first, under a header of CONVERSATION_CSV_COLUMNS (no value needs quoting). */
export async function writeConversationsCsv(conversations: ConversationList, sink: OutputSink, options: WriteOptions = {}): Promise<void> {
  const out = piecewise(sink);
  out.add(`${CONVERSATION_CSV_COLUMNS.join(',')}\n`);
  await writeRows(conversations, 'csv', out, options.parallelRows ?? PARALLEL_ROWS);
  await out.flush();
}

function conversationCsv(c: Conversation): string {
  return `${c.remoteIp},${c.localPort},${c.remotePort},${c.protocol},${c.direction},${c.inBytes},${c.outBytes},${c.inPackets},${c.outPackets},${c.accepted},${c.rejected},${c.firstSeen},${c.lastSeen},${c.fromFinding ? 'true' : 'false'}\n`;
}
