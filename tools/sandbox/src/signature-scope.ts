import type { IncomingHttpHeaders } from 'node:http';

/** What the SigV4 credential scope says about a request; signatures themselves are not checked. */
export interface SignatureScope {
  accessKeyId: string;
  region: string;
  service: string;
  sessionToken: string | undefined;
  /**
   * For a presigned URL (SigV4 in the query string): when it stops working, epoch ms, from
   * X-Amz-Date plus X-Amz-Expires; NaN when those are missing or malformed.
   */
  presignedUntil?: number;
}

/** SigV4 query authentication allows at most seven days. */
export const MAX_PRESIGNED_SECONDS = 604_800;

const CREDENTIAL = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/;

/** From the Authorization header, or from a presigned URL's `X-Amz-Credential`. */
export function signatureScope(headers: IncomingHttpHeaders, query: URLSearchParams): SignatureScope | undefined {
  const authorization = headers.authorization;
  const presigned = query.get('X-Amz-Credential');
  const match = typeof authorization === 'string' ? CREDENTIAL.exec(authorization) : presigned === null ? null : CREDENTIAL.exec(`Credential=${presigned}`);
  if (!match) return undefined;
  const [, accessKeyId = '', region = '', service = ''] = match;
  const presignedUntil = typeof authorization === 'string' ? undefined : presignedExpiry(query.get('X-Amz-Date'), query.get('X-Amz-Expires'));
  const headerToken = headers['x-amz-security-token'];
  return {
    accessKeyId,
    region,
    service,
    sessionToken: typeof headerToken === 'string' ? headerToken : (query.get('X-Amz-Security-Token') ?? undefined),
    ...(presignedUntil === undefined ? {} : { presignedUntil }),
  };
}

function presignedExpiry(date: string | null, expires: string | null): number {
  const stamp = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date ?? '');
  if (!stamp || expires === null || !/^\d{1,7}$/.test(expires) || Number(expires) > MAX_PRESIGNED_SECONDS) return Number.NaN;
  const [, y, mo, d, h, mi, s] = stamp.map(Number) as number[];
  return Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s) + Number(expires) * 1000;
}
