/**
 * Reads a stream of flow log text (gzip or plain: an S3 object, or a local file where the
 * zlib handle LocalFlowLogReader drives is missing) into a sink. Memory stays flat whatever
 * the input size.
 */
import type { Readable } from 'node:stream';
import { decoded, isParquet } from './flow-log-compression.js';
import { FileSkipped, type FlowRecordSink, LineScanner } from './flow-log-lines.js';
import { flowLogProblem, type FlowLogProblems } from './flow-log-problems.js';
import type { FlowLogObjectSource } from './flow-log-reader.js';

/**
 * Reads one stream of flow log text (gzip or plain) into the sink. Never throws for bad
 * content: a cut or corrupt gzip stream, a format without the needed fields, a file that
 * is not text or a stream that fails is a problem, and what was read before it counts.
 */
export async function scanFlowLogStream(file: string, raw: Readable, sink: FlowRecordSink, problems: FlowLogProblems): Promise<void> {
  const scanner = new LineScanner(file, sink, problems);
  let sourceError: unknown;
  raw.on('error', (error) => (sourceError = error));
  let first = true;
  try {
    for await (const chunk of decoded(raw)) {
      if (first && isParquet(chunk)) {
        problems.add(flowLogProblem.parquet(file));
        return;
      }
      first = false;
      scanner.push(chunk);
    }
    scanner.finish();
  } catch (error) {
    if (error instanceof FileSkipped) return;
    if (typeof (error as { code?: unknown }).code === 'string' && (error as { code: string }).code.startsWith('Z_')) {
      scanner.abandon();
      problems.add(flowLogProblem.cut(file, scanner.line, (error as Error).message));
      return;
    }
    if (error === sourceError || sourceError !== undefined) {
      problems.add(flowLogProblem.unreadable(file, scanner.line, (error as Error).message));
      return;
    }
    throw error;
  } finally {
    raw.destroy();
    problems.endFile(file);
  }
}

export async function scanFlowLogObject(objects: FlowLogObjectSource, key: string, sink: FlowRecordSink, problems: FlowLogProblems): Promise<void> {
  let stream: Readable;
  try {
    stream = await objects.open(key);
  } catch (error) {
    problems.add(flowLogProblem.unopenable(key, (error as Error).message));
    problems.endFile(key);
    return;
  }
  await scanFlowLogStream(key, stream, sink, problems);
}
