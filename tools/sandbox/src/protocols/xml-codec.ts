import { membersOf, type ServiceModel, type Shape, type ShapeRef, type TimestampFormat } from '../model/service-model.js';
import { parseScalar, scalarText, timestampFormat } from './wire-values.js';

/**
 * XML bodies of awsQuery, EC2 and restXml, driven by the shape. Element names are the model's
 * `locationName` where it has one; lists are wrapped (`<Buckets><Bucket/>`, EC2's `<item>`)
 * unless the model marks them flattened (S3's repeated `<Contents>`).
 */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"'\r]/g, (c) => XML_ESCAPES[c] ?? c);
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;' };

export class XmlWriter {
  constructor(
    private readonly model: ServiceModel,
    private readonly defaultTimestamp: TimestampFormat = 'iso8601',
  ) {}

  /** The children of a structure, without its own element. */
  members(shapeName: string, value: Record<string, unknown>, out: string[]): void {
    const shape = this.model.shapes[shapeName];
    for (const [name, member] of (shape ? membersOf(shape) : [])) {
      const memberValue = value[name];
      if (memberValue === undefined || memberValue === null || member.location || member.xmlAttribute) continue;
      this.element(member.locationName ?? name, member, memberValue, out);
    }
  }

  element(name: string, ref: ShapeRef, value: unknown, out: string[]): void {
    const shape = this.model.shapes[ref.shape];
    if (!shape) return;
    switch (shape.type) {
      case 'structure':
        out.push(`<${name}>`);
        this.members(ref.shape, value as Record<string, unknown>, out);
        out.push(`</${name}>`);
        return;
      case 'list':
        this.list(name, ref, shape, value as unknown[], out);
        return;
      case 'map':
        this.map(name, ref, shape, value as Record<string, unknown>, out);
        return;
      default:
        out.push(`<${name}>${escapeXml(scalarText(shape, value, timestampFormat(ref, shape, this.defaultTimestamp)))}</${name}>`);
    }
  }

  private list(name: string, ref: ShapeRef, shape: Shape, items: unknown[], out: string[]): void {
    const member = shape.member;
    if (!member) return;
    if (ref.flattened || shape.flattened) {
      for (const item of items) this.element(name, member, item, out);
      return;
    }
    out.push(`<${name}>`);
    for (const item of items) this.element(member.locationName ?? 'member', member, item, out);
    out.push(`</${name}>`);
  }

  private map(name: string, ref: ShapeRef, shape: Shape, entries: Record<string, unknown>, out: string[]): void {
    const keyName = shape.key?.locationName ?? 'key';
    const valueName = shape.value?.locationName ?? 'value';
    const flattened = ref.flattened || shape.flattened;
    if (!flattened) out.push(`<${name}>`);
    for (const [k, v] of Object.entries(entries)) {
      out.push(flattened ? `<${name}>` : '<entry>');
      out.push(`<${keyName}>${escapeXml(k)}</${keyName}>`);
      if (shape.value) this.element(valueName, shape.value, v, out);
      out.push(flattened ? `</${name}>` : '</entry>');
    }
    if (!flattened) out.push(`</${name}>`);
  }
}

export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

/**
 * A small XML reader for request payloads (S3's CreateBucketConfiguration, Delete, Tagging):
 * elements and text, entities and CDATA; attributes, comments and declarations are skipped.
 */
export function parseXml(source: string): XmlElement {
  let pos = 0;
  const fail = (why: string): never => {
    throw new XmlSyntaxError(`${why} at offset ${pos}`);
  };
  const skipMisc = () => {
    for (;;) {
      while (pos < source.length && /\s/.test(source.charAt(pos))) pos++;
      if (source.startsWith('<?', pos)) pos = endOf('?>');
      else if (source.startsWith('<!--', pos)) pos = endOf('-->');
      else if (source.startsWith('<!DOCTYPE', pos)) pos = endOf('>');
      else return;
    }
  };
  const endOf = (token: string) => {
    const at = source.indexOf(token, pos);
    if (at < 0) fail(`unterminated ${token}`);
    return at + token.length;
  };
  const element = (): XmlElement => {
    if (source.charAt(pos) !== '<') fail('expected an element');
    const tagEnd = endOf('>');
    const tag = source.slice(pos + 1, tagEnd - 1);
    pos = tagEnd;
    const selfClosing = tag.endsWith('/');
    const name = localName(tag.replace(/\/$/, '').trim().split(/\s+/)[0] ?? '');
    if (name === '') fail('empty element name');
    const node: XmlElement = { name, children: [], text: '' };
    if (selfClosing) return node;
    for (;;) {
      if (pos >= source.length) fail(`unclosed <${name}>`);
      if (source.startsWith('</', pos)) {
        pos = endOf('>');
        return node;
      }
      if (source.startsWith('<![CDATA[', pos)) {
        const end = source.indexOf(']]>', pos);
        if (end < 0) fail('unterminated CDATA');
        node.text += source.slice(pos + 9, end);
        pos = end + 3;
      } else if (source.startsWith('<!--', pos)) {
        pos = endOf('-->');
      } else if (source.charAt(pos) === '<') {
        node.children.push(element());
      } else {
        const next = source.indexOf('<', pos);
        node.text += decodeEntities(source.slice(pos, next < 0 ? source.length : next));
        pos = next < 0 ? source.length : next;
      }
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (pos < source.length) fail('content after the root element');
  return root;
}

export class XmlSyntaxError extends Error {}

function localName(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon < 0 ? qualified : qualified.slice(colon + 1);
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    return { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[entity] ?? '';
  });
}

/** An XML element read into a value of the given shape, keyed by member names. */
export function fromXml(model: ServiceModel, ref: ShapeRef, node: XmlElement): unknown {
  const shape = model.shapes[ref.shape];
  if (!shape) return undefined;
  switch (shape.type) {
    case 'structure': {
      const out: Record<string, unknown> = {};
      for (const [name, member] of membersOf(shape)) {
        if (member.location || member.xmlAttribute) continue;
        const elementName = member.locationName ?? name;
        const memberShape = model.shapes[member.shape];
        if (memberShape?.type === 'list' && (member.flattened || memberShape.flattened)) {
          const items = node.children.filter((c) => c.name === elementName);
          if (items.length > 0 && memberShape.member) out[name] = items.map((item) => fromXml(model, memberShape.member as ShapeRef, item));
          continue;
        }
        const child = node.children.find((c) => c.name === elementName);
        if (child) out[name] = fromXml(model, member, child);
      }
      return out;
    }
    case 'list': {
      const member = shape.member;
      if (!member) return [];
      const itemName = member.locationName ?? 'member';
      return node.children.filter((c) => c.name === itemName).map((c) => fromXml(model, member, c));
    }
    case 'map': {
      const out: Record<string, unknown> = {};
      const keyName = shape.key?.locationName ?? 'key';
      const valueName = shape.value?.locationName ?? 'value';
      for (const entry of node.children) {
        const key = entry.children.find((c) => c.name === keyName)?.text;
        const value = entry.children.find((c) => c.name === valueName);
        if (key !== undefined && value && shape.value) out[key] = fromXml(model, shape.value, value);
      }
      return out;
    }
    default:
      return parseScalar(shape, node.text);
  }
}
