import type { OperationModel, ServiceModel, ShapeRef } from '../model/service-model.js';
import type { ServiceError } from '../service-error.js';
import { RestProtocol } from './http-bindings.js';
import { fromJson, jsonErrorResponse, parseJsonObject, structureFromJson, toJson } from './json-codec.js';
import { type CommonError, type ErrorSpec, type WireResponse } from './protocol.js';

const COMMON_ERRORS: Record<CommonError, ErrorSpec> = {
  unknownOperation: { code: 'UnknownOperationException', status: 404, message: 'The requested resource or operation does not exist.' },
  missingAuth: { code: 'MissingAuthenticationTokenException', status: 403, message: 'Missing Authentication Token' },
  expiredToken: { code: 'ExpiredTokenException', status: 403, message: 'The security token included in the request is expired' },
  invalidToken: { code: 'UnrecognizedClientException', status: 403, message: 'The security token included in the request is invalid.' },
  accessDenied: { code: 'AccessDeniedException', status: 403, message: 'You are not authorized to perform this operation.' },
  throttling: { code: 'ThrottlingException', status: 429, message: 'Rate exceeded' },
  internal: { code: 'InternalFailure', status: 500, message: 'The request processing has failed because of an unknown error, exception or failure.' },
  validation: { code: 'ValidationException', status: 400, message: 'Invalid input' },
  malformed: { code: 'SerializationException', status: 400, message: 'The request body could not be read.' },
};

/** restJson1 (Detective, GuardDuty): HTTP bindings with a JSON body. */
export class RestJsonProtocol extends RestProtocol {
  readonly name = 'rest-json' as const;
  protected readonly contentType = 'application/json';

  constructor(model: ServiceModel) {
    super(model);
  }

  protected readBody(shapeName: string, body: Buffer): Record<string, unknown> {
    const shape = this.model.shapes[shapeName];
    return shape ? structureFromJson(this.model, shape, parseJsonObject(body)) : {};
  }

  protected readPayload(ref: ShapeRef, body: Buffer): unknown {
    return fromJson(this.model, ref.shape, parseJsonObject(body));
  }

  protected writeBody(_operation: OperationModel, shapeName: string, output: Record<string, unknown>): string {
    return JSON.stringify(toJson(this.model, shapeName, output) ?? {});
  }

  protected writePayload(ref: ShapeRef, _name: string, value: unknown): string {
    return JSON.stringify(toJson(this.model, ref.shape, value, ref) ?? {});
  }

  protected requestIdHeaders(requestId: string): Record<string, string> {
    return { 'x-amzn-requestid': requestId };
  }

  writeError(error: ServiceError, requestId: string): WireResponse {
    return jsonErrorResponse(this.model, error, requestId, this.contentType, false);
  }

  commonError(kind: CommonError): ErrorSpec {
    return COMMON_ERRORS[kind];
  }
}
