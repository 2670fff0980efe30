import { readFile } from 'node:fs/promises';
import { InvalidInputError } from '@orgshield/errors';

/**
 * Reads a file the user named; a missing or unreadable one is bad input, said in one sentence
 * that names the file's kind (`what`: "rollout", "policy spec") and its path.
 */
export async function readInputFile(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as Error).message})`;
    throw new InvalidInputError(`The ${what} file ${file} ${reason}; check the path.`, { cause: error });
  }
}
