import { membersOf, type ServiceModel, type Shape, type ShapeRef, type TimestampFormat } from '../model/service-model.js';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parseScalar, scalarText, timestampFormat } from './wire-values.js';

/**
 * XML bodies of awsQuery, EC2 and restXml, driven by the shape. Element names are the model's
 * `locationName` where it has one; lists are wrapped (`<Buckets><Bucket/>`, EC2's `<item>`)
 * unless the model marks them flattened (S3's repeated `<Contents>`).
 */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"'\r]/g, (c) => XML_ESCAPES[c] ?? c);
}

const CDATA = '#cdata';

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

/** Deeper than any request document a service accepts (S3's deepest is five levels). */
const MAX_XML_DEPTH = 32;

const xmlParser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  cdataPropName: CDATA,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: MAX_XML_DEPTH - 1, // it counts the levels below the root
  // Entities are decoded below, where a reference to no character is a syntax error, not a RangeError.
  processEntities: false,
});

/**
 * Request payloads (S3's CreateBucketConfiguration, Delete, Tagging) as a tree of elements and
 * text. fast-xml-parser's validator refuses what is not well-formed (mismatched or unclosed tags,
 * several roots); its parser bounds the depth; attributes, comments and declarations are dropped.
 * Any refusal is an XmlSyntaxError, which the protocol answers with the service's own 400.
 */
export function parseXml(source: string): XmlElement {
  const verdict = XMLValidator.validate(source);
  if (verdict !== true) throw new XmlSyntaxError(`${verdict.err.msg} (line ${verdict.err.line}, column ${verdict.err.col})`);
  if (!source.trimEnd().endsWith('>')) throw new XmlSyntaxError('content after the root element');
  let nodes: OrderedNode[];
  try {
    nodes = xmlParser.parse(source) as OrderedNode[];
  } catch (error) {
    // The parser's only refusal left after validation is the depth bound.
    throw new XmlSyntaxError(`${error instanceof Error ? error.message : String(error)} (more than ${MAX_XML_DEPTH} levels)`);
  }
  const roots = nodes.filter((node) => elementName(node) !== undefined);
  const root = roots[0];
  if (roots.length !== 1 || !root) throw new XmlSyntaxError('expected exactly one root element');
  return toElement(root);
}

export class XmlSyntaxError extends Error {}

/** fast-xml-parser's ordered form: `{ name: children }` or `{ '#text': text }` or `{ [CDATA]: [{ '#text': text }] }`. */
type OrderedNode = Record<string, unknown>;

const TEXT = '#text';

function elementName(node: OrderedNode): string | undefined {
  return Object.keys(node).find((key) => key !== TEXT && key !== CDATA && key !== ':@');
}

/** Recursion is bounded: the parser refused anything deeper than MAX_XML_DEPTH. */
function toElement(node: OrderedNode): XmlElement {
  const name = elementName(node) ?? '';
  const element: XmlElement = { name, children: [], text: '' };
  for (const child of (node[name] as OrderedNode[] | undefined) ?? []) {
    if (TEXT in child) element.text += decodeEntities(String(child[TEXT]));
    else if (CDATA in child) element.text += ((child[CDATA] as OrderedNode[] | undefined) ?? []).map((part) => String(part[TEXT] ?? '')).join('');
    else if (elementName(child) !== undefined) element.children.push(toElement(child));
  }
  return element;
}

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** XML 1.0's Char production: a reference to anything else is not well-formed. */
function isXmlChar(codePoint: number): boolean {
  return (
    codePoint === 0x9 || codePoint === 0xa || codePoint === 0xd ||
    (codePoint >= 0x20 && codePoint <= 0xd7ff) ||
    (codePoint >= 0xe000 && codePoint <= 0xfffd) ||
    (codePoint >= 0x10000 && codePoint <= 0x10ffff)
  );
}

function decodeEntities(text: string): string {
  return text.replace(/&([^;&\s]*);?/g, (reference, entity: string) => {
    if (!reference.endsWith(';')) throw new XmlSyntaxError(`unterminated reference ${JSON.stringify(reference)}`);
    const named = NAMED_ENTITIES[entity];
    if (named !== undefined) return named;
    const numeric = /^#x([0-9a-fA-F]{1,8})$/.exec(entity) ?? /^#([0-9]{1,10})$/.exec(entity);
    const codePoint = numeric?.[1] === undefined ? NaN : parseInt(numeric[1], entity.startsWith('#x') ? 16 : 10);
    if (!isXmlChar(codePoint)) throw new XmlSyntaxError(`${reference} is not a reference to an XML character`);
    return String.fromCodePoint(codePoint);
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
