/**
 * A flow output thread: writes the rows of part of a merged conversation list (the second
 * half, see writeRows in flow-output.ts) while the main thread writes the first: to a file
 * of its own (`path`), or, when the output is a file, into it at the offset it is sent
 * (where the first half's bytes end). Answers with the bytes it wrote.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import { RunList, type SharedRunList } from './flow-accumulator.js';
import { type RowFormat, RowPrinter } from './flow-output.js';

const port = parentPort!;
const { list, format, path } = workerData as { list: SharedRunList; format: RowFormat; path: string | null };
const [target] = path === null ? ((await once(port, 'message')) as [{ fd: number; position: number }]) : [{ fd: openSync(path, 'w'), position: 0 }];
let bytes = 0;
/** Writes all of buf[0, n) at the target's next offset. */
const write = (buf: Uint8Array, n: number): void => {
  for (let done = 0; done < n;) done += writeSync(target.fd, buf, done, n - done, target.position + bytes + done);
  bytes += n;
};
try {
  const printer = new RowPrinter(format);
  const source = RunList.fromShared(list).rows();
  for (const { rows, at } of source) {
    // Never first: the main thread's half comes before.
    if (printer.row(source, rows, at, false)) {
      write(printer.buf, printer.n);
      printer.n = 0;
    }
  }
  write(printer.buf, printer.n);
} finally {
  if (path !== null) closeSync(target.fd);
}
port.postMessage(bytes);
