import { isMap, isNode, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export type FieldPath = readonly PropertyKey[];

export interface SourcePosition {
  line: number;
  column: number;
}

/** `rules.firstRuleGroups[0].managedRuleGroup.version`: how people read a path into a document. */
export function formatFieldPath(path: FieldPath): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else text += text === '' ? String(key) : `.${String(key)}`;
  }
  return text;
}

/**
 * Finds where a field path points in a parsed YAML (or JSON) document. A path that leads past
 * the document (a missing required field) points at the deepest node that exists, which is
 * where the field belongs. With `atKey`, a map entry points at its key rather than its value.
 */
export function locateInDocument(
  document: Document.Parsed | Document,
  lineCounter: LineCounter,
  path: FieldPath,
  options: { atKey?: boolean } = {},
): SourcePosition | undefined {
  let node: unknown = document.contents;
  let keyNode: Node | undefined;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && keyText(item.key) === String(key));
      if (!pair) break;
      keyNode = isNode(pair.key) ? pair.key : undefined;
      if (!isNode(pair.value)) {
        node = keyNode;
        break;
      }
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key];
      if (!isNode(item)) break;
      keyNode = undefined;
      node = item;
    } else {
      break;
    }
  }
  const target = options.atKey && keyNode ? keyNode : node;
  if (!isNode(target) || !target.range) return undefined;
  const { line, col } = lineCounter.linePos(target.range[0]);
  return { line, column: col };
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}
