/**
 * A flow-log reader thread: takes files from the shared list by the shared counter until
 * none are left, reading them into its own accumulator, then sends the accumulated state
 * back to be merged.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { type AccumulatorConfig, FlowAccumulator } from './flow-accumulator.js';
import { remoteFilterFor } from './flow-ip.js';
import { FlowLogProblems } from './flow-log-problems.js';
import { LocalFlowLogReader } from './local-flow-log-reader.js';

const port = parentPort!;
const { config, files, next } = workerData as { config: AccumulatorConfig; files: string[]; next: Int32Array };
const problems = new FlowLogProblems();
const accumulator = new FlowAccumulator(config, { problems, remoteFilter: remoteFilterFor(config.remote), spillName: `thread-${threadId}` });
const reader = new LocalFlowLogReader(accumulator, problems, accumulator.readerBuffers());

for (let i = Atomics.add(next, 0, 1); i < files.length; i = Atomics.add(next, 0, 1)) {
  await reader.read(files[i]!);
  port.postMessage({ kind: 'file-done' });
}
const state = accumulator.exportState();
port.postMessage({ kind: 'state', state, problems: problems.listed, problemTotal: problems.total }, [state.rows.buffer as ArrayBuffer, state.minutes.buffer as ArrayBuffer]);
