/**
 * A flow output thread: writes the rows of part of a merged conversation list (the second
 * half, see writeRows in flow-output.ts) to a file, while the main thread writes the first.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { RunList, type SharedRunList } from './flow-accumulator.js';
import { type RowFormat, RowPrinter } from './flow-output.js';

const { list, format, path } = workerData as { list: SharedRunList; format: RowFormat; path: string };
const fd = openSync(path, 'w');
try {
  const printer = new RowPrinter(format);
  const source = RunList.fromShared(list).rows();
  for (const { rows, at } of source) {
    // Never first: the main thread's half comes before.
    if (printer.row(source, rows, at, false)) {
      writeSync(fd, printer.buf, 0, printer.n);
      printer.n = 0;
    }
  }
  writeSync(fd, printer.buf, 0, printer.n);
} finally {
  closeSync(fd);
}
parentPort!.postMessage('done');
