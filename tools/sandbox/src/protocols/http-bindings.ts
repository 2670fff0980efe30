import { Readable } from 'node:stream';
import { membersOf, type OperationModel, type ServiceModel, type Shape, type ShapeRef } from '../model/service-model.js';
import type { ServiceError } from '../service-error.js';
import { httpStatus, type CommonError, type ErrorSpec, type Protocol, type WireRequest, type WireResponse } from './protocol.js';
import { formatTimestamp, parseScalar, parseTimestamp, scalarText, timestampFormat } from './wire-values.js';

interface Route {
  operation: OperationModel;
  pattern: RegExp;
  labels: string[];
  /** `?list-type=2` or `?uploads` in the request URI: parameters the request must carry. */
  queryLiterals: [string, string | undefined][];
  /**
   * Required members bound to headers or the query string. They tell apart operations that
   * share a template: S3 CopyObject is PutObject's `PUT /{Bucket}/{Key+}` with `x-amz-copy-source`.
   */
  requiredHeaders: string[];
  requiredQuery: string[];
  literalChars: number;
  greedy: boolean;
}

interface RouteMatch {
  operation: OperationModel;
  labels: Map<string, string>;
}

/**
 * restJson and restXml: operations are routed by HTTP method and the model's URI template
 * (labels, greedy labels like S3's `{Key+}`, literal query parameters), and members travel in
 * the URI, the query string, headers, a payload or the body. Subclasses only read and write the
 * body (JSON or XML).
 */
export abstract class RestProtocol implements Protocol {
  abstract readonly name: 'rest-json' | 'rest-xml';
  private readonly routes = new Map<string, Route[]>();
  private readonly matches = new WeakMap<WireRequest, RouteMatch>();

  constructor(protected readonly model: ServiceModel) {
    for (const operation of Object.values(model.operations)) {
      const route = compileRoute(model, operation);
      const list = this.routes.get(operation.http.method) ?? [];
      list.push(route);
      this.routes.set(operation.http.method, list);
    }
  }

  protected abstract readBody(shapeName: string, body: Buffer): Record<string, unknown>;
  protected abstract readPayload(ref: ShapeRef, body: Buffer): unknown;
  protected abstract writeBody(operation: OperationModel, shapeName: string, output: Record<string, unknown>): string | undefined;
  protected abstract writePayload(ref: ShapeRef, name: string, value: unknown): string;
  protected abstract readonly contentType: string;
  protected abstract requestIdHeaders(requestId: string): Record<string, string>;
  abstract writeError(error: ServiceError, requestId: string): WireResponse;
  abstract commonError(kind: CommonError): ErrorSpec;

  operationName(request: WireRequest): string | undefined {
    const match = this.route(request, request.path) ?? (request.path.length > 1 && request.path.endsWith('/') ? this.route(request, request.path.slice(0, -1)) : undefined);
    if (!match) return undefined;
    this.matches.set(request, match);
    return match.operation.name;
  }

  private route(request: WireRequest, path: string): RouteMatch | undefined {
    let best: { route: Route; groups: RegExpExecArray } | undefined;
    const hinted = request.query.get('x-id');
    for (const route of this.routes.get(request.method) ?? []) {
      const groups = route.pattern.exec(path);
      if (!groups || !route.queryLiterals.every(([k, v]) => (v === undefined ? request.query.has(k) : request.query.get(k) === v))) continue;
      if (!route.requiredHeaders.every((h) => request.headers[h] !== undefined) || !route.requiredQuery.every((q) => request.query.has(q))) continue;
      if (hinted === route.operation.name) {
        best = { route, groups };
        break;
      }
      if (!best || compareRoutes(route, best.route) > 0) best = { route, groups };
    }
    if (!best) return undefined;
    const { route, groups } = best;
    const labels = new Map<string, string>();
    route.labels.forEach((label, i) => labels.set(label, safeDecode(groups[i + 1] ?? '')));
    return { operation: route.operation, labels };
  }

  parseInput(operation: OperationModel, request: WireRequest): Record<string, unknown> {
    if (!operation.input) return {};
    const shape = this.model.shapes[operation.input.shape];
    if (!shape) return {};
    const labels = this.matches.get(request)?.labels ?? new Map<string, string>();
    const out: Record<string, unknown> = {};
    const boundQueryNames = new Set<string>();
    for (const ref of Object.values(shape.members ?? {})) if (ref.location === 'querystring' && ref.locationName) boundQueryNames.add(ref.locationName);

    for (const [name, ref] of membersOf(shape)) {
      const memberShape = this.model.shapes[ref.shape];
      if (!memberShape) continue;
      const wireName = ref.locationName ?? name;
      let value: unknown;
      switch (ref.location) {
        case 'uri': {
          const raw = labels.get(wireName);
          if (raw !== undefined) value = parseScalar(memberShape, raw);
          break;
        }
        case 'querystring':
          value = this.queryValue(memberShape, wireName, request.query, boundQueryNames);
          break;
        case 'header':
          value = this.headerValue(memberShape, ref, request.headers[wireName.toLowerCase()]);
          break;
        case 'headers':
          value = prefixedHeaders(request.headers, wireName.toLowerCase());
          break;
        default:
          break;
      }
      if (value !== undefined) out[name] = value;
    }

    const payloadName = shape.payload;
    const payloadRef = payloadName ? shape.members?.[payloadName] : undefined;
    if (payloadName && payloadRef) {
      const payloadShape = this.model.shapes[payloadRef.shape];
      if (payloadShape?.type === 'blob') out[payloadName] = request.body;
      else if (payloadShape?.type === 'string') out[payloadName] = request.body.toString('utf8');
      else if (request.body.length > 0) out[payloadName] = this.readPayload(payloadRef, request.body);
    } else if (request.body.length > 0) {
      Object.assign(out, this.readBody(operation.input.shape, request.body));
    }
    return out;
  }

  writeOutput(operation: OperationModel, output: Record<string, unknown>, requestId: string): WireResponse {
    const headers: Record<string, string> = { ...this.requestIdHeaders(requestId) };
    let status = (output as { [httpStatus]?: number })[httpStatus] ?? operation.http.responseCode ?? 200;
    const shapeName = operation.output?.shape;
    const shape = shapeName ? this.model.shapes[shapeName] : undefined;
    if (!shape || !shapeName) return { status, headers, body: '' };

    for (const [name, ref] of membersOf(shape)) {
      const value = output[name];
      if (value === undefined || value === null) continue;
      const memberShape = this.model.shapes[ref.shape];
      if (!memberShape) continue;
      const wireName = (ref.locationName ?? name).toLowerCase();
      if (ref.location === 'header') headers[wireName] = headerText(memberShape, ref, value);
      else if (ref.location === 'headers') for (const [k, v] of Object.entries(value as Record<string, string>)) headers[`${wireName}${k}`] = v;
      else if (ref.location === 'statusCode') status = Number(value);
    }

    const payloadName = shape.payload;
    const payloadRef = payloadName ? shape.members?.[payloadName] : undefined;
    if (payloadName && payloadRef) {
      const value = output[payloadName];
      const payloadShape = this.model.shapes[payloadRef.shape];
      if (value === undefined || value === null) return { status, headers, body: '' };
      if (payloadShape?.type === 'blob' || payloadShape?.type === 'string') {
        headers['content-type'] ??= 'application/octet-stream';
        const body = value instanceof Readable ? value : typeof value === 'string' ? value : Buffer.from(value as Uint8Array);
        return { status, headers, body };
      }
      headers['content-type'] = this.contentType;
      return { status, headers, body: this.writePayload(payloadRef, payloadRef.locationName ?? payloadName, value) };
    }
    const body = this.writeBody(operation, shapeName, output);
    if (body !== undefined) headers['content-type'] = this.contentType;
    return { status, headers, body: body ?? '' };
  }

  private queryValue(shape: Shape, wireName: string, query: URLSearchParams, bound: Set<string>): unknown {
    if (shape.type === 'map') {
      // A map bound to the query string collects every parameter no other member claims.
      const out: Record<string, unknown> = {};
      const valueShape = shape.value ? this.model.shapes[shape.value.shape] : undefined;
      for (const key of new Set(query.keys())) {
        if (bound.has(key)) continue;
        out[key] = valueShape?.type === 'list' ? query.getAll(key) : query.get(key);
      }
      return Object.keys(out).length > 0 ? out : undefined;
    }
    if (shape.type === 'list') {
      const values = query.getAll(wireName);
      const itemShape = shape.member ? this.model.shapes[shape.member.shape] : undefined;
      return values.length > 0 ? values.map((v) => (itemShape ? parseScalar(itemShape, v) : v)) : undefined;
    }
    const raw = query.get(wireName);
    return raw === null ? undefined : parseScalar(shape, raw);
  }

  private headerValue(shape: Shape, ref: ShapeRef, raw: string | string[] | undefined): unknown {
    if (raw === undefined) return undefined;
    const text = Array.isArray(raw) ? raw.join(', ') : raw;
    if (shape.type === 'list') {
      const itemShape = shape.member ? this.model.shapes[shape.member.shape] : undefined;
      return text.split(',').map((part) => (itemShape ? parseScalar(itemShape, part.trim()) : part.trim()));
    }
    if (ref.jsonvalue || (shape as { jsonvalue?: boolean }).jsonvalue) return JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as unknown;
    if (shape.type === 'timestamp') return parseTimestamp(text) ?? text;
    return parseScalar(shape, text);
  }
}

function compileRoute(model: ServiceModel, operation: OperationModel): Route {
  const [pathPart = '/', queryPart] = operation.http.requestUri.split('?');
  const labels: string[] = [];
  let pattern = '^';
  let literalChars = 0;
  let greedy = false;
  let last = 0;
  for (const token of pathPart.matchAll(/\{([^}]+)\}/g)) {
    const literal = pathPart.slice(last, token.index);
    pattern += escapeRegExp(literal);
    literalChars += literal.length;
    const label = token[1] ?? '';
    if (label.endsWith('+')) {
      greedy = true;
      labels.push(label.slice(0, -1));
      pattern += '(.+)';
    } else {
      labels.push(label);
      pattern += '([^/]+)';
    }
    last = token.index + token[0].length;
  }
  const tail = pathPart.slice(last);
  pattern += `${escapeRegExp(tail)}$`;
  literalChars += tail.length;
  const queryLiterals: [string, string | undefined][] = [];
  for (const part of (queryPart ?? '').split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    queryLiterals.push(eq < 0 ? [part, undefined] : [part.slice(0, eq), part.slice(eq + 1)]);
  }
  const input = operation.input ? model.shapes[operation.input.shape] : undefined;
  const required = (input?.required ?? []).map((name) => input?.members?.[name]).filter((ref) => ref !== undefined);
  const boundNames = (location: string) => required.filter((ref) => ref.location === location && ref.locationName).map((ref) => (ref.locationName as string).toLowerCase());
  return {
    operation,
    pattern: new RegExp(pattern),
    labels,
    queryLiterals,
    requiredHeaders: boundNames('header'),
    requiredQuery: required.filter((ref) => ref.location === 'querystring' && ref.locationName).map((ref) => ref.locationName as string),
    literalChars,
    greedy,
  };
}

/**
 * The most specific template wins: more literal or required query parameters, more required
 * headers, more literal path, not greedy, not deprecated.
 */
function compareRoutes(a: Route, b: Route): number {
  return (
    a.queryLiterals.length + a.requiredQuery.length - (b.queryLiterals.length + b.requiredQuery.length) ||
    a.requiredHeaders.length - b.requiredHeaders.length ||
    a.literalChars - b.literalChars ||
    Number(b.greedy) - Number(a.greedy) ||
    // S3's PutBucketLifecycle shares its template with PutBucketLifecycleConfiguration, which replaced it.
    Number(b.operation.deprecated === true) - Number(a.operation.deprecated === true)
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function prefixedHeaders(headers: WireRequest['headers'], prefix: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(prefix) && value !== undefined) out[name.slice(prefix.length)] = Array.isArray(value) ? value.join(', ') : value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function headerText(shape: Shape, ref: ShapeRef, value: unknown): string {
  if (shape.type === 'list') return (value as unknown[]).map(String).join(', ');
  if (ref.jsonvalue) return Buffer.from(JSON.stringify(value)).toString('base64');
  if (shape.type === 'timestamp') return String(formatTimestamp(value, timestampFormat(ref, shape, 'rfc822')));
  return scalarText(shape, value, 'rfc822');
}
