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
  /** The resources the request acts on, for operations whose service names them (DRS's StartRecovery, TerminateRecoveryInstances; FMS's GetComplianceDetail as `<policy id>/<member account>`). */
  resources?: string[];
}

/** Entries kept in memory for `requests()`; older ones drop off so a long run stays bounded. */
const MEMORY_LIMIT = 200_000;

/**
 * The request log: in memory for tests, and as JSON lines in a file when asked. The memory is a
 * ring: once full, each entry overwrites the oldest, so a long run costs O(1) per request.
 */
export class RequestLog {
  private readonly ring: RequestLogEntry[] = [];
  /** Where the next entry goes once the ring is full; also where the oldest entry sits. */
  private next = 0;
  private readonly file: WriteStream | undefined;

  constructor(
    path: string | undefined,
    private readonly capacity = MEMORY_LIMIT,
  ) {
    this.file = path === undefined ? undefined : createWriteStream(path, { flags: 'a' });
  }

  record(entry: RequestLogEntry): void {
    if (this.ring.length < this.capacity) {
      this.ring.push(entry);
    } else {
      this.ring[this.next] = entry;
      this.next = (this.next + 1) % this.capacity;
    }
    this.file?.write(`${JSON.stringify(entry)}\n`);
  }

  /** The entries kept, oldest first. */
  entries(): RequestLogEntry[] {
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }

  close(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    return new Promise((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
}
