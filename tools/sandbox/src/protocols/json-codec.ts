import { membersOf, type ServiceModel, type Shape, type ShapeRef } from '../model/service-model.js';
import type { ServiceError } from '../service-error.js';
import { errorShape, MalformedRequestError, messageMember, type WireResponse } from './protocol.js';
import { formatTimestamp, parseTimestamp, timestampFormat } from './wire-values.js';

/**
 * JSON bodies of awsJson and restJson, driven by the shape: member names on the wire are the
 * model's `locationName` where it has one, timestamps are epoch seconds, blobs base64. Members a
 * handler returns that the shape does not declare are not sent, as AWS would not send them.
 */
export function toJson(model: ServiceModel, shapeName: string, value: unknown, ref?: ShapeRef): unknown {
  const shape = model.shapes[shapeName];
  if (!shape || value === undefined || value === null) return undefined;
  switch (shape.type) {
    case 'structure': {
      if (shape.document) return value;
      const out: Record<string, unknown> = {};
      const record = value as Record<string, unknown>;
      for (const [name, member] of membersOf(shape)) {
        const memberValue = record[name];
        if (memberValue === undefined || memberValue === null || member.location) continue;
        const json = toJson(model, member.shape, memberValue, member);
        if (json !== undefined) out[member.locationName ?? name] = json;
      }
      return out;
    }
    case 'list':
      return shape.member ? (value as unknown[]).map((item) => toJson(model, (shape.member as ShapeRef).shape, item, shape.member)) : value;
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        out[k] = shape.value ? toJson(model, shape.value.shape, v, shape.value) : v;
      }
      return out;
    }
    case 'timestamp':
      return formatTimestamp(value, timestampFormat(ref, shape, 'unixTimestamp'));
    case 'blob':
      return value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value;
    default:
      return value;
  }
}

/** The inverse: wire JSON to a value keyed by member names, with Dates and Buffers. */
export function fromJson(model: ServiceModel, shapeName: string, value: unknown): unknown {
  const shape = model.shapes[shapeName];
  if (!shape || value === null || value === undefined) return value;
  switch (shape.type) {
    case 'structure': {
      if (shape.document || typeof value !== 'object' || Array.isArray(value)) return value;
      return structureFromJson(model, shape, value as Record<string, unknown>);
    }
    case 'list':
      return Array.isArray(value) && shape.member ? value.map((item) => fromJson(model, (shape.member as ShapeRef).shape, item)) : value;
    case 'map': {
      if (typeof value !== 'object' || Array.isArray(value) || !shape.value) return value;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = fromJson(model, shape.value.shape, v);
      return out;
    }
    case 'timestamp':
      return typeof value === 'number' || typeof value === 'string' ? (parseTimestamp(value) ?? value) : value;
    case 'blob':
      return typeof value === 'string' ? Buffer.from(value, 'base64') : value;
    default:
      return value;
  }
}

export function structureFromJson(model: ServiceModel, shape: Shape, body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, member] of membersOf(shape)) {
    if (member.location) continue;
    const wire = body[member.locationName ?? name];
    if (wire !== undefined) out[name] = fromJson(model, member.shape, wire);
  }
  return out;
}

/** A JSON request body, which both JSON protocols require to be an object. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new MalformedRequestError('The request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new MalformedRequestError('The request body must be a JSON object.');
  return parsed as Record<string, unknown>;
}

/** An error as the JSON protocols answer it; awsJson also names it in the body (`__type`). */
export function jsonErrorResponse(model: ServiceModel, error: ServiceError, requestId: string, contentType: string, withType: boolean): WireResponse {
  const { shape, status } = errorShape(model, error);
  const fields = shape ? ((toJson(model, error.code, error.fields) as Record<string, unknown> | undefined) ?? {}) : { ...error.fields };
  const body = { ...(withType ? { __type: error.code } : {}), [messageMember(shape)?.wire ?? 'message']: error.message, ...fields };
  return {
    status,
    headers: { 'content-type': contentType, 'x-amzn-requestid': requestId, 'x-amzn-errortype': error.code },
    body: JSON.stringify(body),
  };
}
