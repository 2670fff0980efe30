/**
 * What `orgshield flows analyze` prints, written as it is produced: the JSON document
 * (conversations one by one, read in order from the analysis, never built whole) and the
 * CSV of the conversations, one row each.
 */
import type { Conversation, ConversationList } from './flow-accumulator.js';
import type { FlowAnalysis } from './flow-analysis.js';

/** Takes the next piece of output; resolves when it may be given the next (a stream's backpressure). */
export type OutputSink = (text: string) => Promise<void>;

/** Text is handed on in pieces of about this size. */
const PIECE_CHARS = 1 << 16;

/**
 * Collects small texts into pieces for the sink: `add` is synchronous and says when a piece
 * is full (then `flush` hands it on), so a million rows are not a million awaited promises.
 */
function piecewise(sink: OutputSink): { add(text: string): boolean; flush(): Promise<void> } {
  let piece = '';
  return {
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
export async function writeFlowAnalysisJson(analysis: FlowAnalysis, sink: OutputSink): Promise<void> {
  const out = piecewise(sink);
  const field = (name: string, value: unknown): string => `  ${JSON.stringify(name)}: ${JSON.stringify(value, null, 2).replaceAll('\n', '\n  ')}`;
  out.add(`{\n${field('records', analysis.records)},\n  "conversations": [`);
  let first = true;
  for (const c of analysis.conversations) {
    if (out.add(`${first ? '\n    ' : ',\n    '}${conversationJson(c)}`)) await out.flush();
    first = false;
  }
  out.add(`${first ? '' : '\n  '}],\n${field('timeline', analysis.timeline)},\n${field('findings', analysis.findings)},\n${field('problems', analysis.problems)}\n}\n`);
  await out.flush();
}

export const CONVERSATION_CSV_COLUMNS = [
  'remoteIp', 'localPort', 'remotePort', 'protocol', 'direction', 'inBytes', 'outBytes', 'inPackets', 'outPackets', 'accepted', 'rejected',
  'firstSeen', 'lastSeen', 'fromFinding',
] as const;

/** One row per conversation, largest first, under a header of CONVERSATION_CSV_COLUMNS (no value needs quoting). */
export async function writeConversationsCsv(conversations: ConversationList, sink: OutputSink): Promise<void> {
  const out = piecewise(sink);
  out.add(`${CONVERSATION_CSV_COLUMNS.join(',')}\n`);
  for (const c of conversations) {
    const full = out.add(`${c.remoteIp},${c.localPort},${c.remotePort},${c.protocol},${c.direction},${c.inBytes},${c.outBytes},${c.inPackets},${c.outPackets},${c.accepted},${c.rejected},${c.firstSeen},${c.lastSeen},${c.fromFinding ? 'true' : 'false'}\n`);
    if (full) await out.flush();
  }
  await out.flush();
}
