/**
 * A flow output thread: writes the rows of part of a merged conversation list (the second
 * half, see writeRows in flow-output.ts) to a file, while the main thread writes the first.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { RunList, type SharedRunList } from './flow-accumulator.js';
import { type RowFormat, rowText } from './flow-output.js';

const { list, format, path } = workerData as { list: SharedRunList; format: RowFormat; path: string };
const fd = openSync(path, 'w');
try {
  let piece = '';
  for (const c of RunList.fromShared(list)) {
    // Never first: the main thread's half comes before.
    piece += rowText(format, c, false);
    if (piece.length >= 1 << 16) {
      writeSync(fd, piece, null, 'latin1');
      piece = '';
    }
  }
  writeSync(fd, piece, null, 'latin1');
} finally {
  closeSync(fd);
}
parentPort!.postMessage('done');
