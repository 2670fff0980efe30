/**
 * A flow-log reader thread: reads the files the main thread hands it one at a time into
 * its own accumulator, then sends the accumulated state back to be merged.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type AccumulatorConfig, FlowAccumulator } from './flow-accumulator.js';
import { remoteFilterFor } from './flow-ip.js';
import { FlowLogProblems, scanFlowLogFile } from './flow-log-reader.js';

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
  port.postMessage({ kind: 'state', state, problems: problems.listed, problemTotal: problems.total }, [
    c.remote.buffer, c.protocol.buffer, c.localPort.buffer, c.remotePort.buffer, c.inBytes.buffer, c.outBytes.buffer,
    c.inPackets.buffer, c.outPackets.buffer, c.acceptedOutBytes.buffer, c.accepted.buffer, c.rejected.buffer,
    c.firstSeen.buffer, c.lastSeen.buffer, c.opened.buffer,
  ] as ArrayBuffer[]);
});
