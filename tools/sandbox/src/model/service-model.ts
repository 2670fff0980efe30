import { readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/**
 * The botocore JSON service model (vendored under tools/sandbox/models), typed as far as the
 * sandbox reads it.
 */
export type Location = 'uri' | 'querystring' | 'header' | 'headers' | 'statusCode';

export interface ShapeRef {
  shape: string;
  location?: Location;
  locationName?: string;
  /** EC2 query protocol: the exact parameter name. */
  queryName?: string;
  flattened?: boolean;
  xmlAttribute?: boolean;
  streaming?: boolean;
  jsonvalue?: boolean;
  timestampFormat?: TimestampFormat;
  idempotencyToken?: boolean;
}

export type TimestampFormat = 'iso8601' | 'unixTimestamp' | 'rfc822';

export type ShapeType =
  | 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'float' | 'double'
  | 'boolean' | 'timestamp' | 'blob';

export interface Shape {
  type: ShapeType;
  members?: Record<string, ShapeRef>;
  required?: string[];
  member?: ShapeRef;
  key?: ShapeRef;
  value?: ShapeRef;
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  flattened?: boolean;
  locationName?: string;
  payload?: string;
  streaming?: boolean;
  timestampFormat?: TimestampFormat;
  exception?: boolean;
  fault?: boolean;
  error?: { code?: string; httpStatusCode?: number; senderFault?: boolean };
  document?: boolean;
  sensitive?: boolean;
}

export interface OperationModel {
  name: string;
  http: { method: string; requestUri: string; responseCode?: number };
  input?: ShapeRef;
  output?: ShapeRef & { resultWrapper?: string };
  errors?: { shape: string }[];
  deprecated?: boolean;
}

export type ProtocolName = 'json' | 'rest-json' | 'query' | 'ec2' | 'rest-xml';

export interface ServiceModel {
  metadata: {
    apiVersion: string;
    endpointPrefix: string;
    protocol: ProtocolName;
    targetPrefix?: string;
    jsonVersion?: string;
    signingName?: string;
    xmlNamespace?: string;
    serviceId: string;
  };
  operations: Record<string, OperationModel>;
  shapes: Record<string, Shape>;
}

const MODELS_DIR = new URL('../../models/', import.meta.url);

/** Reads and unzips `models/<directory>/service-*.json.gz`; callers cache the result. */
export function loadServiceModel(directory: string): ServiceModel {
  const dir = new URL(`${directory}/`, MODELS_DIR);
  const file = readdirSync(dir).find((name) => name.startsWith('service-') && name.endsWith('.json.gz'));
  if (!file) throw new Error(`no service model under ${dir.pathname}: copy it from ../shared/aws-models/${directory}`);
  return JSON.parse(gunzipSync(readFileSync(new URL(file, dir))).toString('utf8')) as ServiceModel;
}

const memberLists = new WeakMap<Shape, [string, ShapeRef][]>();

/** A structure's members as a list, computed once per shape: serializers walk it per request. */
export function membersOf(shape: Shape): [string, ShapeRef][] {
  let list = memberLists.get(shape);
  if (!list) {
    list = Object.entries(shape.members ?? {});
    memberLists.set(shape, list);
  }
  return list;
}
