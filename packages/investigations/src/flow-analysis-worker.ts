/**
 * A flow-log reader thread: takes files from the shared list by the shared counter until
 * none are left, reading them into its own accumulator, then sends the accumulated state
 * back to be merged. Asked to, it then merges spill partitions beside the main thread
 * (FlowAccumulator.finish's helper), sending each one's runs back as it is done; a thread
 * given no file is started for that alone.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { type AccumulatorConfig, FlowAccumulator, type MergeJob } from './flow-accumulator.js';
import { remoteFilterFor } from './flow-ip.js';
import { FlowLogProblems } from './flow-log-problems.js';
import { LocalFlowLogReader } from './local-flow-log-reader.js';

const port = parentPort!;
const { config, files, next } = workerData as { config: AccumulatorConfig; files: string[]; next: Int32Array };

/** Reads files until none are left and sends what they hold (in a function: the scan's accumulator goes with it). */
async function scan(): Promise<void> {
  const problems = new FlowLogProblems();
  const accumulator = new FlowAccumulator(config, { problems, remoteFilter: remoteFilterFor(config.remote), spillName: `thread-${threadId}` });
  const reader = new LocalFlowLogReader(accumulator, problems, accumulator.readerBuffers());
  for (let i = Atomics.add(next, 0, 1); i < files.length; i = Atomics.add(next, 0, 1)) {
    await reader.read(files[i]!);
    port.postMessage({ kind: 'file-done' });
  }
  const state = accumulator.exportState();
  port.postMessage({ kind: 'state', state, problems: problems.listed, problemTotal: problems.total }, [state.rows.buffer as ArrayBuffer, state.minutes.buffer as ArrayBuffer]);
}

// Listening first: a thread started for the finish only (it reads no file) is sent its job at once.
port.on('message', (job: MergeJob) => {
  // The rows it merges passed the remote filter where they were read.
  const merger = new FlowAccumulator(job.config, { problems: new FlowLogProblems(), remoteFilter: null, spillName: `helper-${threadId}` });
  merger.helpFinish(job, (partition, steps) => port.postMessage({ kind: 'partition', partition, steps }));
  port.postMessage({ kind: 'merged' });
});
await scan();
