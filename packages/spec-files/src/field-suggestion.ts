import type { z } from 'zod';

type PathKey = PropertyKey;

/**
 * The field names a schema allows in the object at `path`: the union of every object it could
 * be there (each branch of a union, the element of an array, the value behind optional,
 * default, pipe and the like).
 */
export function knownFieldsAt(schema: z.core.$ZodType, path: readonly PathKey[]): Set<string> {
  const known = new Set<string>();
  const visit = (node: z.core.$ZodType, rest: readonly PathKey[], depth: number): void => {
    // Recursive schemas (z.lazy) could loop: no spec nests this deep.
    if (depth > 64) return;
    const def = (node as z.core.$ZodTypes)._zod.def;
    switch (def.type) {
      case 'object': {
        const shape = def.shape;
        if (rest.length === 0) for (const key of Object.keys(shape)) known.add(key);
        else if (typeof rest[0] === 'string' && shape[rest[0]]) visit(shape[rest[0]]!, rest.slice(1), depth + 1);
        return;
      }
      case 'array':
        if (typeof rest[0] === 'number') visit(def.element, rest.slice(1), depth + 1);
        return;
      case 'record':
        if (rest.length > 0) visit(def.valueType, rest.slice(1), depth + 1);
        return;
      case 'union':
        for (const option of def.options) visit(option, rest, depth + 1);
        return;
      case 'intersection':
        visit(def.left, rest, depth + 1);
        visit(def.right, rest, depth + 1);
        return;
      case 'pipe':
        visit(def.in, rest, depth + 1);
        return;
      case 'lazy':
        visit(def.getter(), rest, depth + 1);
        return;
      default: {
        // optional, nullable, default, prefault, catch, readonly, nonoptional: a wrapper.
        const inner = 'innerType' in def ? def.innerType : undefined;
        if (inner) visit(inner, rest, depth + 1);
      }
    }
  };
  visit(schema, path, 0);
  return known;
}

/**
 * The known field a misspelt one most likely meant: the closest by edit distance (a swap of two
 * letters counts as one edit), when it is close enough to be a slip rather than another word.
 */
export function closestField(unknown: string, known: Iterable<string>): string | undefined {
  const limit = Math.max(1, Math.min(3, Math.floor(unknown.length / 3)));
  let best: { field: string; distance: number } | undefined;
  for (const field of known) {
    const distance = editDistance(unknown.toLowerCase(), field.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { field, distance };
  }
  return best?.field;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}
