/**
 * A flow-log reader thread: reads the files the main thread hands it one at a time into
 * its own accumulator, then sends the accumulated state back to be merged.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type AccumulatorConfig, FlowAccumulator } from './flow-accumulator.js';
import { remoteFilterFor } from './flow-ip.js';
import { FlowLogProblems, scanFlowLogFile } from './flow-log-scanner.js';

const port = parentPort!;
const { config } = workerData as { config: AccumulatorConfig };
const problems = new FlowLogProblems();
const accumulator = new FlowAccumulator(config, problems, remoteFilterFor(config.remote));

port.on('message', (message: { kind: 'file'; file: string } | { kind: 'finish' }) => {
  if (message.kind === 'file') {
    void scanFlowLogFile(message.file, accumulator, problems).then(() => port.postMessage({ kind: 'file-done' }));
    return;
  }
  const state = accumulator.exportState();
  const c = state.conversations;
  port.postMessage({ kind: 'state', state, problems: problems.listed, problemTotal: problems.total }, [c.keys.buffer, c.data.buffer, c.arena.buffer, state.refused.buffer] as ArrayBuffer[]);
});
