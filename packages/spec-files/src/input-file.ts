import { open } from 'node:fs/promises';
import { InvalidInputError } from '@orgshield/errors';
import { fileLimitProblem, inputLimits, oversizeMessage } from './input-limits.js';
import { SpecFileError } from './spec-problem.js';

const CHUNK_BYTES = 1024 * 1024;

/**
 * Reads a file the user named; a missing or unreadable one is bad input, said in one sentence
 * that names the file's kind (`what`: "rollout", "policy spec") and its path. A file larger
 * than the input limit is refused from its size before it is read, and a device or a file that
 * grows while it is read (/dev/zero, a FIFO) one byte past the limit.
 */
export async function readInputFile(file: string, what: string): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(file, 'r');
    const limits = inputLimits();
    const tooLarge = (size: number) =>
      new SpecFileError([fileLimitProblem(file, `the ${what} file ${oversizeMessage(size, limits)}`)], { code: 'InputFileTooLarge', what: `the ${what} file` });
    const { size } = await handle.stat();
    if (size > limits.fileBytes) throw tooLarge(size);
    const chunks: Buffer[] = [];
    for (let total = 0; ;) {
      const chunk = Buffer.alloc(Math.min(CHUNK_BYTES, limits.fileBytes + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) return Buffer.concat(chunks).toString('utf8');
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > limits.fileBytes) throw tooLarge(total);
    }
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as Error).message})`;
    throw new InvalidInputError(`The ${what} file ${file} ${reason}; check the path.`, { cause: error });
  } finally {
    await handle?.close();
  }
}
