import type { Shape, ShapeRef, TimestampFormat } from '../model/service-model.js';

/**
 * Scalars as they travel in strings (query strings, headers, URI labels, XML text). A value that
 * does not parse as its shape's type is kept as the raw string, so validation names it.
 */
export function parseScalar(shape: Shape, raw: string): unknown {
  switch (shape.type) {
    case 'integer':
    case 'long':
      return /^-?\d+$/.test(raw) ? Number(raw) : raw;
    case 'float':
    case 'double': {
      const n = Number(raw);
      return raw.trim() !== '' && !Number.isNaN(n) ? n : raw;
    }
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    case 'timestamp':
      return parseTimestamp(raw) ?? raw;
    case 'blob':
      return Buffer.from(raw, 'base64');
    default:
      return raw;
  }
}

export function parseTimestamp(raw: string | number): Date | undefined {
  const date = typeof raw === 'number' || /^-?\d+(\.\d+)?$/.test(raw) ? new Date(Number(raw) * 1000) : new Date(raw);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function timestampFormat(ref: ShapeRef | undefined, shape: Shape, fallback: TimestampFormat): TimestampFormat {
  return ref?.timestampFormat ?? shape.timestampFormat ?? fallback;
}

export function formatTimestamp(value: unknown, format: TimestampFormat): string | number {
  const date = value instanceof Date ? value : new Date(value as string | number);
  switch (format) {
    case 'unixTimestamp':
      return date.getTime() / 1000;
    case 'rfc822':
      return date.toUTCString();
    default:
      return date.toISOString();
  }
}

/** Scalar as text, for XML bodies and headers. */
export function scalarText(shape: Shape, value: unknown, format: TimestampFormat): string {
  if (shape.type === 'timestamp') return String(formatTimestamp(value, format));
  if (shape.type === 'blob') return Buffer.isBuffer(value) || value instanceof Uint8Array ? Buffer.from(value).toString('base64') : Buffer.from(String(value)).toString('base64');
  return String(value);
}
