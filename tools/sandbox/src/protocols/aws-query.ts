import type { OperationModel, ServiceModel } from '../model/service-model.js';
import type { ServiceError } from '../service-error.js';
import {
  errorShape,
  type CommonError,
  type ErrorSpec,
  type Protocol,
  type WireRequest,
  type WireResponse,
} from './protocol.js';
import { formParams, paramTree, structureFromParams, type QueryFlavour } from './query-params.js';
import { escapeXml, XmlWriter } from './xml-codec.js';

const QUERY_ERRORS: Record<CommonError, ErrorSpec> = {
  unknownOperation: { code: 'InvalidAction', status: 400, message: 'Could not find operation for this version.' },
  missingAuth: { code: 'MissingAuthenticationToken', status: 403, message: 'Request is missing Authentication Token' },
  expiredToken: { code: 'ExpiredToken', status: 403, message: 'The security token included in the request is expired' },
  invalidToken: { code: 'InvalidClientTokenId', status: 403, message: 'The security token included in the request is invalid.' },
  accessDenied: { code: 'AccessDenied', status: 403, message: 'You are not authorized to perform this operation.' },
  throttling: { code: 'Throttling', status: 400, message: 'Rate exceeded' },
  internal: { code: 'InternalFailure', status: 500, message: 'The request processing has failed because of an unknown error, exception or failure.' },
  validation: { code: 'ValidationError', status: 400, message: 'Invalid input' },
  malformed: { code: 'MalformedQueryString', status: 400, message: 'The query string is malformed.' },
};

const EC2_ERRORS: Record<CommonError, ErrorSpec> = {
  unknownOperation: { code: 'InvalidAction', status: 400, message: 'The action is not valid for this web service.' },
  missingAuth: { code: 'MissingAuthenticationToken', status: 403, message: 'The request must contain either a valid (registered) AWS access key ID or X.509 certificate.' },
  expiredToken: { code: 'RequestExpired', status: 400, message: 'Request has expired.' },
  invalidToken: { code: 'AuthFailure', status: 401, message: 'AWS was not able to validate the provided access credentials' },
  accessDenied: { code: 'UnauthorizedOperation', status: 403, message: 'You are not authorized to perform this operation.' },
  throttling: { code: 'RequestLimitExceeded', status: 503, message: 'Request limit exceeded.' },
  internal: { code: 'InternalError', status: 500, message: 'An internal error has occurred.' },
  validation: { code: 'InvalidParameterValue', status: 400, message: 'Invalid parameter value' },
  malformed: { code: 'InvalidParameterValue', status: 400, message: 'The request could not be read.' },
};

/**
 * awsQuery (STS) and the EC2 query protocol: `Action=<Operation>&Version=<apiVersion>` form
 * parameters in, XML out. awsQuery wraps results in `<OpResponse><OpResult>` and errors in
 * `<ErrorResponse>`; EC2 puts members straight under `<OpResponse>` and errors in
 * `<Response><Errors>`.
 */
export class QueryProtocol implements Protocol {
  readonly name: 'query' | 'ec2';
  private readonly writer: XmlWriter;
  private readonly namespace: string;
  private readonly parsed = new WeakMap<WireRequest, URLSearchParams>();

  constructor(
    private readonly model: ServiceModel,
    private readonly flavour: QueryFlavour,
  ) {
    this.name = flavour;
    this.writer = new XmlWriter(model);
    const ns = model.metadata.xmlNamespace ?? '';
    this.namespace = ns.endsWith('/') || ns === '' ? ns : `${ns}/`;
  }

  operationName(request: WireRequest): string | undefined {
    const action = this.params(request).get('Action');
    return action !== null && Object.hasOwn(this.model.operations, action) ? action : undefined;
  }

  parseInput(operation: OperationModel, request: WireRequest): Record<string, unknown> {
    if (!operation.input) return {};
    return structureFromParams(this.model, operation.input.shape, paramTree(this.params(request)), this.flavour);
  }

  writeOutput(operation: OperationModel, output: Record<string, unknown>, requestId: string): WireResponse {
    const out: string[] = [`<${operation.name}Response xmlns="${this.namespace}">`];
    if (this.flavour === 'ec2') {
      out.push(`<requestId>${requestId}</requestId>`);
      if (operation.output) this.writer.members(operation.output.shape, output, out);
    } else {
      const wrapper = operation.output?.resultWrapper;
      if (wrapper && operation.output) {
        out.push(`<${wrapper}>`);
        this.writer.members(operation.output.shape, output, out);
        out.push(`</${wrapper}>`);
      }
      out.push(`<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>`);
    }
    out.push(`</${operation.name}Response>`);
    return { status: 200, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body: out.join('') };
  }

  writeError(error: ServiceError, requestId: string): WireResponse {
    const { shape, status } = errorShape(this.model, error);
    const code = escapeXml(shape?.error?.code ?? error.code);
    const message = escapeXml(error.message);
    const body =
      this.flavour === 'ec2'
        ? `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`
        : `<ErrorResponse xmlns="${this.namespace}"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
    return { status, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body };
  }

  commonError(kind: CommonError): ErrorSpec {
    return (this.flavour === 'ec2' ? EC2_ERRORS : QUERY_ERRORS)[kind];
  }

  /** Routing and parsing both need the parameters; parse the form once per request. */
  private params(request: WireRequest): URLSearchParams {
    let params = this.parsed.get(request);
    if (!params) {
      const contentType = request.headers['content-type'];
      params = formParams(request.method, request.query, request.body, typeof contentType === 'string' ? contentType : undefined);
      this.parsed.set(request, params);
    }
    return params;
  }
}
