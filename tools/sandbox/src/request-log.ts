import { createWriteStream, type WriteStream } from 'node:fs';

/** One line of the request log: what was asked, by whom, and how it was answered. */
export interface RequestLogEntry {
  /** Epoch milliseconds when the request arrived. */
  t: number;
  service: string;
  operation: string;
  account: string;
  region: string;
  /** HTTP status; 0 when the connection was reset without an answer. */
  status: number;
  /** The error code answered, or null. */
  error: string | null;
  latencyMs: number;
}

/** Entries kept in memory for `requests()`; older ones drop off so a long run stays bounded. */
const MEMORY_LIMIT = 200_000;

/** The request log: in memory for tests, and as JSON lines in a file when asked. */
export class RequestLog {
  private readonly memory: RequestLogEntry[] = [];
  private readonly file: WriteStream | undefined;

  constructor(path: string | undefined) {
    this.file = path === undefined ? undefined : createWriteStream(path, { flags: 'a' });
  }

  record(entry: RequestLogEntry): void {
    this.memory.push(entry);
    if (this.memory.length > MEMORY_LIMIT) this.memory.splice(0, this.memory.length - MEMORY_LIMIT);
    this.file?.write(`${JSON.stringify(entry)}\n`);
  }

  entries(): RequestLogEntry[] {
    return [...this.memory];
  }

  close(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    return new Promise((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
}
