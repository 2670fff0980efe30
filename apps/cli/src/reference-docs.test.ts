import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { RolloutSchema } from '@orgshield/firewall';
import { PolicySpecSchema } from '@orgshield/policies';

const docs = new URL('../../../docs/reference/', import.meta.url);

/** Every field path a schema accepts (`waves[].gates.timeout`), through optionals, defaults, unions and lists. */
function fieldPaths(schema: z.ZodType): string[] {
  const paths = new Set<string>();
  const walk = (node: unknown, path: string) => {
    const def = (node as { _zod?: { def?: Record<string, unknown> & { type: string } } })._zod?.def;
    if (!def) return;
    switch (def.type) {
      case 'object':
        for (const [key, child] of Object.entries(def['shape'] as Record<string, unknown>)) {
          const next = path ? `${path}.${key}` : key;
          paths.add(next);
          walk(child, next);
        }
        break;
      case 'array':
        walk(def['element'], `${path}[]`);
        break;
      case 'union':
        for (const option of def['options'] as unknown[]) walk(option, path);
        break;
      case 'pipe':
        walk(def['in'], path);
        break;
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'readonly':
        walk(def['innerType'], path);
        break;
    }
  };
  walk(schema, '');
  return [...paths];
}

describe('file format references (docs/reference)', () => {
  it.each([
    ['policy-spec.md', PolicySpecSchema, (path: string) => path],
    // An inline spec's fields are the policy spec's, documented there.
    ['rollout-file.md', RolloutSchema, (path: string) => (path.startsWith('policies[].spec.') ? undefined : path)],
  ] as const)('%s names every field of its schema', async (file, schema, documented) => {
    const text = await readFile(new URL(file, docs), 'utf8');
    const paths = fieldPaths(schema).flatMap((path) => documented(path) ?? []);
    expect(paths.length).toBeGreaterThan(20);
    expect(paths.filter((path) => !text.includes(`\`${path}\``))).toEqual([]);
  });

  it('the README links every reference', async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    for (const file of ['policy-spec.md', 'rollout-file.md']) expect(readme).toContain(`docs/reference/${file}`);
  });
});
