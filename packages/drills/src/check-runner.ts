import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Check } from './drill-schema.js';

/** One try of one check against a recovery instance. */
export interface CheckAttempt {
  passed: boolean;
  /** What was seen: `connected`, `HTTP 200`, or why it failed. */
  detail: string;
  /** HTTPS only: whether the certificate was verified against the drill's CA. */
  certificate?: 'verified' | 'not verified';
}

/** A check's name in reports: its own, or `tcp:5432`, `https:443/health`. */
export function checkName(check: Check): string {
  if (check.name) return check.name;
  if (check.type === 'tcp') return `tcp:${check.port}`;
  return `${check.type}:${check.port ?? (check.type === 'https' ? 443 : 80)}${check.path}`;
}

/**
 * Tries a check once against `address`, giving up after `timeoutMs`. HTTPS verifies the
 * certificate against the CA text when one is given (and `serverName`, else the address);
 * without one it does not verify, and says so.
 */
export function runCheckOnce(check: Check, address: string, options: { timeoutMs: number; ca?: string }): Promise<CheckAttempt> {
  if (check.type === 'tcp') return tcpCheck(address, check.port, options.timeoutMs);
  return httpCheck(check, address, options);
}

function tcpCheck(host: string, port: number, timeoutMs: number): Promise<CheckAttempt> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (attempt: CheckAttempt) => {
      socket.destroy();
      resolve(attempt);
    };
    socket.setTimeout(timeoutMs, () => done({ passed: false, detail: `no answer from ${host}:${port} within ${timeoutMs}ms` }));
    socket.once('connect', () => done({ passed: true, detail: `connected to ${host}:${port}` }));
    socket.once('error', (error: NodeJS.ErrnoException) => done({ passed: false, detail: `${host}:${port}: ${error.code ?? error.message}` }));
  });
}

const BODY_LIMIT = 64 * 1024;

function httpCheck(check: Extract<Check, { type: 'http' | 'https' }>, host: string, options: { timeoutMs: number; ca?: string }): Promise<CheckAttempt> {
  const https = check.type === 'https';
  const port = check.port ?? (https ? 443 : 80);
  const certificate: CheckAttempt['certificate'] = https ? (options.ca ? 'verified' : 'not verified') : undefined;
  const withCertificate = (attempt: CheckAttempt): CheckAttempt => (certificate ? { ...attempt, certificate } : attempt);
  return new Promise((resolve) => {
    const send = https ? httpsRequest : httpRequest;
    const req = send({
      host,
      port,
      path: check.path,
      method: 'GET',
      timeout: options.timeoutMs,
      ...(https ? { ca: options.ca, rejectUnauthorized: options.ca !== undefined, servername: check.serverName ?? host } : {}),
    });
    let settled = false;
    const done = (attempt: CheckAttempt) => {
      if (settled) return;
      settled = true;
      req.destroy();
      resolve(withCertificate(attempt));
    };
    req.once('timeout', () => done({ passed: false, detail: `no answer from ${host}:${port} within ${options.timeoutMs}ms` }));
    req.once('error', (error: NodeJS.ErrnoException) => done({ passed: false, detail: certificateProblem(error, { check, host, port }) ?? `${host}:${port}: ${error.code ?? error.message}` }));
    req.once('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (body.length < BODY_LIMIT) body += chunk;
      });
      response.once('end', () => {
        const status = response.statusCode ?? 0;
        if (status !== check.expectStatus) return done({ passed: false, detail: `HTTP ${status}, expected ${check.expectStatus}` });
        if (check.expectBody !== undefined && !body.includes(check.expectBody)) return done({ passed: false, detail: `HTTP ${status} without "${check.expectBody}" in the body` });
        done({ passed: true, detail: `HTTP ${status}` });
      });
      response.once('error', (error) => done({ passed: false, detail: `${host}:${port}: ${error.message}` }));
    });
    req.end();
  });
}

/** Codes Node gives a certificate that does not chain to the CA it was given. */
const UNTRUSTED = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_SIGNATURE_FAILURE']);

/** One sentence for a certificate that failed verification, naming the CA file or the name expected; undefined for other errors. */
function certificateProblem(error: NodeJS.ErrnoException, where: { check: Extract<Check, { type: 'http' | 'https' }>; host: string; port: number }): string | undefined {
  const { check, host, port } = where;
  if (check.type !== 'https' || error.code === undefined) return undefined;
  if (UNTRUSTED.has(error.code)) return `the certificate of ${host}:${port} is not signed by the drill's CA ${check.ca ?? ''} (${error.code})`;
  if (error.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the certificate of ${host}:${port} is not for ${check.serverName ?? host} (${error.code})`;
  if (error.code === 'CERT_HAS_EXPIRED' || error.code === 'CERT_NOT_YET_VALID') return `the certificate of ${host}:${port} is not valid now (${error.code})`;
  return undefined;
}
