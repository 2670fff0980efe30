import type { IncomingHttpHeaders } from 'node:http';
import { MalformedRequestError } from './protocols/protocol.js';

/**
 * SigV4 streaming uploads (`Content-Encoding: aws-chunked`, which the S3 client uses to send a
 * trailing checksum) frame the payload as `<hex size>[;chunk-signature=...]\r\n<bytes>\r\n`
 * chunks ending with a zero-size chunk and optional trailers. Signatures and trailing checksums
 * are not verified.
 */
export function isAwsChunked(headers: IncomingHttpHeaders): boolean {
  const encoding = headers['content-encoding'];
  const sha = headers['x-amz-content-sha256'];
  return (typeof encoding === 'string' && encoding.includes('aws-chunked')) || (typeof sha === 'string' && sha.startsWith('STREAMING-'));
}

export function decodeAwsChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos < body.length) {
    const lineEnd = body.indexOf('\r\n', pos);
    if (lineEnd < 0) throw new MalformedRequestError('aws-chunked body ends inside a chunk header');
    const size = parseInt(body.subarray(pos, lineEnd).toString('latin1').split(';')[0] ?? '', 16);
    if (Number.isNaN(size)) throw new MalformedRequestError('aws-chunked chunk header has no size');
    if (size === 0) break;
    const start = lineEnd + 2;
    if (start + size > body.length) throw new MalformedRequestError('aws-chunked body is shorter than its chunk sizes');
    parts.push(body.subarray(start, start + size));
    pos = start + size + 2;
  }
  return Buffer.concat(parts);
}

/** The headers the payload would have had without the chunked framing. */
export function withoutAwsChunked(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const encoding = headers['content-encoding'];
  const rest = typeof encoding === 'string' ? encoding.split(',').map((e) => e.trim()).filter((e) => e !== 'aws-chunked' && e !== '') : [];
  const out = { ...headers };
  if (rest.length > 0) out['content-encoding'] = rest.join(', ');
  else delete out['content-encoding'];
  return out;
}
