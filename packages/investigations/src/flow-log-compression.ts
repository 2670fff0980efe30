/**
 * What a flow log file's bytes are: gzip (known by its magic bytes, whatever the file's
 * name), Parquet (refused by the readers) or plain text.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

/** Decompressed chunk size: large chunks keep per-chunk overhead out of the profile. */
export const CHUNK_BYTES = 256 * 1024;

export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

export function isParquet(chunk: Buffer): boolean {
  return chunk.length >= 4 && chunk.readUInt32BE(0) === 0x50415231; // "PAR1"
}

/** The decompressed bytes of a stream: gzip when it starts with gzip's magic bytes, else as is. */
export async function* decoded(raw: Readable): AsyncGenerator<Buffer> {
  const source = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head: Buffer = Buffer.alloc(0);
  while (head.length < 4) {
    const next = await source.next();
    if (next.done) break;
    head = head.length === 0 ? next.value : Buffer.concat([head, next.value]);
  }
  const rest = { [Symbol.asyncIterator]: () => source };
  if (!isGzip(head)) {
    if (head.length > 0) yield head;
    yield* rest;
    return;
  }
  const gunzip = createGunzip({ chunkSize: CHUNK_BYTES });
  const feeding = pipeline(Readable.from((async function* () {
    yield head;
    yield* rest;
  })()), gunzip);
  feeding.catch(() => undefined); // the same error surfaces from the loop below
  yield* gunzip;
}

