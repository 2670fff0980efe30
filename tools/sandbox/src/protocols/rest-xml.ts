import type { OperationModel, ServiceModel, ShapeRef } from '../model/service-model.js';
import type { ServiceError } from '../service-error.js';
import { RestProtocol } from './http-bindings.js';
import { errorShape, MalformedRequestError, type CommonError, type ErrorSpec, type WireResponse } from './protocol.js';
import { escapeXml, fromXml, parseXml, XmlSyntaxError, XmlWriter, type XmlElement } from './xml-codec.js';

const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

const COMMON_ERRORS: Record<CommonError, ErrorSpec> = {
  unknownOperation: { code: 'NotImplemented', status: 501, message: 'A header you provided implies functionality that is not implemented' },
  missingAuth: { code: 'AccessDenied', status: 403, message: 'Access Denied' },
  expiredToken: { code: 'ExpiredToken', status: 400, message: 'The provided token has expired.' },
  invalidToken: { code: 'InvalidToken', status: 400, message: 'The provided token is malformed or otherwise invalid.' },
  accessDenied: { code: 'AccessDenied', status: 403, message: 'Access Denied' },
  throttling: { code: 'SlowDown', status: 503, message: 'Please reduce your request rate.' },
  internal: { code: 'InternalError', status: 500, message: 'We encountered an internal error. Please try again.' },
  validation: { code: 'InvalidArgument', status: 400, message: 'Invalid Argument' },
  malformed: { code: 'MalformedXML', status: 400, message: 'The XML you provided was not well-formed or did not validate against our published schema' },
};

/**
 * restXml (S3): HTTP bindings with an XML body. The model leaves the root element of most
 * outputs implicit (ListObjectsV2 answers `<ListBucketResult>`), so the service names them.
 */
export class RestXmlProtocol extends RestProtocol {
  readonly name = 'rest-xml' as const;
  protected readonly contentType = 'application/xml';
  private readonly writer: XmlWriter;

  constructor(
    model: ServiceModel,
    private readonly rootNames: Record<string, string>,
  ) {
    super(model);
    this.writer = new XmlWriter(model);
  }

  protected readBody(shapeName: string, body: Buffer): Record<string, unknown> {
    return (fromXml(this.model, { shape: shapeName }, readXml(body)) as Record<string, unknown> | undefined) ?? {};
  }

  protected readPayload(ref: ShapeRef, body: Buffer): unknown {
    return fromXml(this.model, ref, readXml(body));
  }

  protected writeBody(operation: OperationModel, shapeName: string, output: Record<string, unknown>): string | undefined {
    const out: string[] = [];
    this.writer.members(shapeName, output, out);
    if (out.length === 0) return undefined;
    const root = this.rootNames[operation.name] ?? this.model.shapes[shapeName]?.locationName ?? shapeName;
    return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_NAMESPACE}">${out.join('')}</${root}>`;
  }

  protected writePayload(ref: ShapeRef, name: string, value: unknown): string {
    const out: string[] = [];
    this.writer.element(name, ref, value, out);
    return `<?xml version="1.0" encoding="UTF-8"?>\n${out.join('').replace(`<${name}>`, `<${name} xmlns="${S3_NAMESPACE}">`)}`;
  }

  protected requestIdHeaders(requestId: string): Record<string, string> {
    return { 'x-amz-request-id': requestId, 'x-amz-id-2': Buffer.from(requestId).toString('base64') };
  }

  writeError(error: ServiceError, requestId: string): WireResponse {
    const { status } = errorShape(this.model, error);
    const fields = Object.entries(error.fields)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`)
      .join('');
    const body =
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message>` +
      `${fields}<RequestId>${requestId}</RequestId><HostId>${Buffer.from(requestId).toString('base64')}</HostId></Error>`;
    return { status, headers: { 'content-type': this.contentType, ...this.requestIdHeaders(requestId) }, body };
  }

  commonError(kind: CommonError): ErrorSpec {
    return COMMON_ERRORS[kind];
  }
}

function readXml(body: Buffer): XmlElement {
  try {
    return parseXml(body.toString('utf8'));
  } catch (error) {
    if (error instanceof XmlSyntaxError) throw new MalformedRequestError(error.message);
    throw error;
  }
}
