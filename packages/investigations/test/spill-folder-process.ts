/**
 * A process holding an analysis's spill folder, for flow-spill.test.ts: prints the folder's
 * path, then waits to be signalled. With `handles`, it listens for SIGTERM itself (as the
 * worker does) and exits on its own a moment later.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSpillFolder } from '../src/flow-spill.js';

const dir = createSpillFolder();
writeFileSync(join(dir, 'main-0.rows'), Buffer.alloc(4096));
if (process.argv[2] === 'handles') {
  process.on('SIGTERM', () => {
    process.stdout.write(`still there: ${String(existsSync(dir))}\n`);
    setTimeout(() => process.exit(0), 50);
  });
}
process.stdout.write(`${dir}\n`);
setInterval(() => undefined, 1000);
