import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { OperationModel, ProtocolName, ServiceModel, Shape } from '../model/service-model.js';
import type { ServiceError } from '../service-error.js';

export interface WireRequest {
  method: string;
  /** The path as sent, still percent-encoded, without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body?: string | Buffer | Readable;
}

/** Errors every service has without declaring them; each protocol names them its own way. */
export type CommonError =
  | 'unknownOperation'
  | 'missingAuth'
  | 'expiredToken'
  | 'invalidToken'
  | 'accessDenied'
  | 'throttling'
  | 'internal'
  | 'validation'
  | 'malformed';

export interface ErrorSpec {
  code: string;
  status: number;
  message: string;
}

/** One wire protocol of the model (awsJson, restJson, awsQuery, EC2 query, restXml). */
export interface Protocol {
  readonly name: ProtocolName;
  /** The operation a request names, or undefined when it names none this model has. */
  operationName(request: WireRequest): string | undefined;
  /** The request's input keyed by member names, with numbers, booleans, Dates and Buffers. */
  parseInput(operation: OperationModel, request: WireRequest): Record<string, unknown>;
  writeOutput(operation: OperationModel, output: Record<string, unknown>, requestId: string): WireResponse;
  writeError(error: ServiceError, requestId: string): WireResponse;
  commonError(kind: CommonError): ErrorSpec;
}

/** Thrown by a protocol when the request cannot be read as the operation's input at all. */
export class MalformedRequestError extends Error {}

/** Status and message member of an error, from its shape where the model declares it. */
export function errorShape(model: ServiceModel, error: ServiceError): { shape: Shape | undefined; status: number } {
  const shape = model.shapes[error.code];
  const declared = shape?.exception ? shape : undefined;
  const status = error.status ?? declared?.error?.httpStatusCode ?? (declared?.fault ? 500 : 400);
  return { shape: declared, status };
}

/** The member that carries the message (`Message` in Organizations, `message` elsewhere). */
export function messageMember(shape: Shape | undefined): { name: string; wire: string } | undefined {
  for (const [name, ref] of Object.entries(shape?.members ?? {})) {
    if (name.toLowerCase() === 'message') return { name, wire: ref.locationName ?? name };
  }
  return undefined;
}

/**
 * A handler's output may carry its HTTP status under this key where the model does not bind one
 * (S3 GetObject answers a range with 206).
 */
export const httpStatus: unique symbol = Symbol('httpStatus');
