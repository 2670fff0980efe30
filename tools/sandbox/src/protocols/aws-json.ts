import type { OperationModel, ServiceModel } from '../model/service-model.js';
import type { ServiceError } from '../service-error.js';
import { jsonErrorResponse, parseJsonObject, structureFromJson, toJson } from './json-codec.js';
import {
  type CommonError,
  type ErrorSpec,
  type Protocol,
  type WireRequest,
  type WireResponse,
} from './protocol.js';

const COMMON_ERRORS: Record<CommonError, ErrorSpec> = {
  unknownOperation: { code: 'UnknownOperationException', status: 400, message: 'The operation is not supported by this service.' },
  missingAuth: { code: 'MissingAuthenticationTokenException', status: 403, message: 'Missing Authentication Token' },
  expiredToken: { code: 'ExpiredTokenException', status: 400, message: 'The security token included in the request is expired' },
  invalidToken: { code: 'UnrecognizedClientException', status: 403, message: 'The security token included in the request is invalid.' },
  accessDenied: { code: 'AccessDeniedException', status: 400, message: 'You are not authorized to perform this operation.' },
  throttling: { code: 'ThrottlingException', status: 400, message: 'Rate exceeded' },
  internal: { code: 'InternalFailure', status: 500, message: 'The request processing has failed because of an unknown error, exception or failure.' },
  validation: { code: 'ValidationException', status: 400, message: 'Invalid input' },
  malformed: { code: 'SerializationException', status: 400, message: 'The request body could not be read.' },
};

/** awsJson1_0 / awsJson1_1: POST / with `X-Amz-Target: <targetPrefix>.<Operation>`, JSON both ways. */
export class AwsJsonProtocol implements Protocol {
  readonly name = 'json' as const;
  private readonly contentType: string;

  constructor(private readonly model: ServiceModel) {
    this.contentType = `application/x-amz-json-${model.metadata.jsonVersion ?? '1.0'}`;
  }

  operationName(request: WireRequest): string | undefined {
    const target = request.headers['x-amz-target'];
    if (typeof target !== 'string' || request.method !== 'POST') return undefined;
    const dot = target.lastIndexOf('.');
    if (target.slice(0, dot) !== this.model.metadata.targetPrefix) return undefined;
    const name = target.slice(dot + 1);
    return Object.hasOwn(this.model.operations, name) ? name : undefined;
  }

  parseInput(operation: OperationModel, request: WireRequest): Record<string, unknown> {
    if (!operation.input) return {};
    const shape = this.model.shapes[operation.input.shape];
    if (!shape) return {};
    return structureFromJson(this.model, shape, request.body.length > 0 ? parseJsonObject(request.body) : {});
  }

  writeOutput(operation: OperationModel, output: Record<string, unknown>, requestId: string): WireResponse {
    const body = operation.output ? toJson(this.model, operation.output.shape, output) : {};
    return {
      status: 200,
      headers: { 'content-type': this.contentType, 'x-amzn-requestid': requestId },
      body: JSON.stringify(body ?? {}),
    };
  }

  writeError(error: ServiceError, requestId: string): WireResponse {
    return jsonErrorResponse(this.model, error, requestId, this.contentType, true);
  }

  commonError(kind: CommonError): ErrorSpec {
    return COMMON_ERRORS[kind];
  }
}
