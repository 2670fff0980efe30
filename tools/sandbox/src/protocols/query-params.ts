import { membersOf, type ServiceModel, type Shape, type ShapeRef } from '../model/service-model.js';
import { parseScalar } from './wire-values.js';

/**
 * Form parameters (`Tags.member.1.Key=env`) read into a value of the input shape. awsQuery and
 * EC2 name things differently, so the two flavours differ only in how a member and a list item
 * are addressed.
 */
export type QueryFlavour = 'query' | 'ec2';

interface ParamNode {
  value?: string;
  children: Map<string, ParamNode>;
}

export function paramTree(params: URLSearchParams): ParamNode {
  const root: ParamNode = { children: new Map() };
  for (const [key, value] of params) {
    let node = root;
    for (const part of key.split('.')) {
      let child = node.children.get(part);
      if (!child) {
        child = { children: new Map() };
        node.children.set(part, child);
      }
      node = child;
    }
    node.value = value;
  }
  return root;
}

export function structureFromParams(model: ServiceModel, shapeName: string, node: ParamNode, flavour: QueryFlavour): Record<string, unknown> {
  const shape = model.shapes[shapeName];
  const out: Record<string, unknown> = {};
  for (const [name, member] of (shape ? membersOf(shape) : [])) {
    const child = node.children.get(paramName(name, member, flavour));
    if (child) {
      const value = valueFromParams(model, member, child, flavour);
      if (value !== undefined) out[name] = value;
    }
  }
  return out;
}

function paramName(memberName: string, ref: ShapeRef, flavour: QueryFlavour): string {
  if (flavour === 'ec2') {
    if (ref.queryName) return ref.queryName;
    if (ref.locationName) return ref.locationName.charAt(0).toUpperCase() + ref.locationName.slice(1);
    return memberName;
  }
  return ref.locationName ?? memberName;
}

function valueFromParams(model: ServiceModel, ref: ShapeRef, node: ParamNode, flavour: QueryFlavour): unknown {
  const shape = model.shapes[ref.shape];
  if (!shape) return undefined;
  switch (shape.type) {
    case 'structure':
      return structureFromParams(model, ref.shape, node, flavour);
    case 'list':
      return listFromParams(model, ref, shape, node, flavour);
    case 'map':
      return mapFromParams(model, ref, shape, node, flavour);
    default:
      return node.value === undefined ? undefined : parseScalar(shape, node.value);
  }
}

function listFromParams(model: ServiceModel, ref: ShapeRef, shape: Shape, node: ParamNode, flavour: QueryFlavour): unknown[] {
  const member = shape.member;
  if (!member) return [];
  // `Names=` with an empty value is how awsQuery sends an empty list.
  const flattened = flavour === 'ec2' || ref.flattened || shape.flattened;
  const itemsNode = flattened ? node : node.children.get(member.locationName ?? 'member');
  if (!itemsNode) return [];
  return numbered(itemsNode).map((item) => valueFromParams(model, member, item, flavour));
}

function mapFromParams(model: ServiceModel, ref: ShapeRef, shape: Shape, node: ParamNode, flavour: QueryFlavour): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const entriesNode = ref.flattened || shape.flattened ? node : node.children.get('entry');
  if (!entriesNode || !shape.value) return out;
  for (const entry of numbered(entriesNode)) {
    const key = entry.children.get(shape.key?.locationName ?? 'key')?.value;
    const value = entry.children.get(shape.value.locationName ?? 'value');
    if (key !== undefined && value) out[key] = valueFromParams(model, shape.value, value, flavour);
  }
  return out;
}

/** Children `1`, `2`, ... in numeric order. */
function numbered(node: ParamNode): ParamNode[] {
  return [...node.children.entries()]
    .filter(([key]) => /^\d+$/.test(key))
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, child]) => child);
}

/** Form body of a POST, or the query string of a GET, as awsQuery and EC2 accept both. */
export function formParams(method: string, query: URLSearchParams, body: Buffer, contentType: string | undefined): URLSearchParams {
  if (method === 'POST' && (contentType ?? '').startsWith('application/x-www-form-urlencoded')) {
    const params = new URLSearchParams(body.toString('utf8'));
    for (const [k, v] of query) if (!params.has(k)) params.append(k, v);
    return params;
  }
  return query;
}
