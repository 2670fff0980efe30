import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('flow-core.wasm', () => {
  it('is what wasm/flow-core.ts compiles to (else run `npm run build:wasm -w @orgshield/investigations`)', async () => {
    const build = (await import(new URL('../wasm/build.mjs', import.meta.url).href)) as { compileFlowCore(outFile: string): Promise<void> };
    const out = join(mkdtempSync(join(tmpdir(), 'flow-core-')), 'flow-core.wasm');
    await build.compileFlowCore(out);
    expect(readFileSync(out).equals(readFileSync(new URL('./flow-core.wasm', import.meta.url)))).toBe(true);
  }, 60_000);
});
