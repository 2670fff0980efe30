import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

/**
 * Import cycles inside a project, type imports included (eslint-plugin-import-x's no-cycle skips
 * `import type`, and a cycle of types is still two modules that cannot be understood apart).
 * Cycles between projects are Nx's: @nx/enforce-module-boundaries reports them.
 * Follows relative imports and re-exports ('./x.js' is the source file './x.ts').
 */
const IMPORT = /^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]|^\s*import\s*['"](\.{1,2}\/[^'"]+)['"]/gm;

/** One lint run reads each file once. */
const importsOf = new Map();

function sourceFile(from, specifier) {
  const target = resolve(dirname(from), specifier.replace(/\.js$/, '.ts'));
  return existsSync(target) ? target : undefined;
}

function relativeImports(file) {
  let found = importsOf.get(file);
  if (found === undefined) {
    const text = readFileSync(file, 'utf8');
    found = [...text.matchAll(IMPORT)].map((m) => sourceFile(file, m[1] ?? m[2])).filter((f) => f !== undefined);
    importsOf.set(file, found);
  }
  return found;
}

/** The shortest chain of imports from `start` back to `file`, or undefined. */
function cycleThrough(file, start) {
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const current = queue.shift();
    for (const next of relativeImports(current)) {
      if (next === file) {
        const chain = [];
        for (let at = current; at !== undefined; at = previous.get(at)) chain.unshift(at);
        return chain;
      }
      if (!previous.has(next)) {
        previous.set(next, current);
        queue.push(next);
      }
    }
  }
  return undefined;
}

export default {
  meta: {
    type: 'problem',
    docs: { description: 'no import cycles within a project, type imports included' },
    schema: [],
    messages: { cycle: 'import cycle, type imports included: {{chain}}' },
  },
  create(context) {
    const file = context.filename;
    const check = (node) => {
      const specifier = node.source?.value;
      if (typeof specifier !== 'string' || !specifier.startsWith('.')) return;
      const target = sourceFile(file, specifier);
      if (target === undefined) return;
      const chain = target === file ? [] : cycleThrough(file, target);
      if (chain === undefined) return;
      const names = [file, ...chain, file].map((f) => relative(dirname(file), f) || f);
      context.report({ node, messageId: 'cycle', data: { chain: names.join(' -> ') } });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check };
  },
};
