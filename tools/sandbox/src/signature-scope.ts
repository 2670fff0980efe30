import type { IncomingHttpHeaders } from 'node:http';

/** What the SigV4 credential scope says about a request; signatures themselves are not checked. */
export interface SignatureScope {
  accessKeyId: string;
  region: string;
  service: string;
  sessionToken: string | undefined;
}

const CREDENTIAL = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/;

/** From the Authorization header, or from a presigned URL's `X-Amz-Credential`. */
export function signatureScope(headers: IncomingHttpHeaders, query: URLSearchParams): SignatureScope | undefined {
  const authorization = headers.authorization;
  const presigned = query.get('X-Amz-Credential');
  const match = typeof authorization === 'string' ? CREDENTIAL.exec(authorization) : presigned === null ? null : CREDENTIAL.exec(`Credential=${presigned}`);
  if (!match) return undefined;
  const [, accessKeyId = '', region = '', service = ''] = match;
  const headerToken = headers['x-amz-security-token'];
  return {
    accessKeyId,
    region,
    service,
    sessionToken: typeof headerToken === 'string' ? headerToken : (query.get('X-Amz-Security-Token') ?? undefined),
  };
}
