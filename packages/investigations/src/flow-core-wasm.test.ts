import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORE_LAYOUT, checkCoreLayout, coreGlobals, instantiateCore } from './flow-core.js';

type Build = { compileFlowCore(outFile: string, source?: string): Promise<void>; SOURCE: string };
const build = async (): Promise<Build> => (await import(new URL('../wasm/build.mjs', import.meta.url).href)) as Build;

describe('flow-core.wasm', () => {
  it('is what wasm/flow-core.ts compiles to (else run `npm run build:wasm -w @orgshield/investigations`)', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'flow-core-')), 'flow-core.wasm');
    await (await build()).compileFlowCore(out);
    expect(readFileSync(out).equals(readFileSync(new URL('./flow-core.wasm', import.meta.url)))).toBe(true);
  }, 60_000);

  it('exports every index of its layout with the values this side uses', async () => {
    expect(() => instantiateCore({ addressId: () => -1, remotePasses: () => true, malformed: () => undefined, tooLong: () => undefined, spill: () => undefined })).not.toThrow();
    const globals = coreGlobals(readFileSync(new URL('./flow-core.wasm', import.meta.url)));
    for (const [name, value] of Object.entries(CORE_LAYOUT)) expect([name, globals[name]]).toEqual([name, value]);
  });

  it('refuses at load a core whose row fields were reordered', async () => {
    const { compileFlowCore, SOURCE } = await build();
    const dir = mkdtempSync(join(tmpdir(), 'flow-core-reordered-'));
    // Two row fields swapped in the core's source only: the totals would land in each other's column.
    const source = readFileSync(SOURCE, 'utf8')
      .replace('export const ROW_IN_BYTES: i32 = 2;', 'export const ROW_IN_BYTES: i32 = 3;')
      .replace('export const ROW_OUT_BYTES: i32 = 3;', 'export const ROW_OUT_BYTES: i32 = 2;');
    expect(source).toContain('ROW_IN_BYTES: i32 = 3;');
    writeFileSync(join(dir, 'flow-core.ts'), source);
    await compileFlowCore(join(dir, 'flow-core.wasm'), join(dir, 'flow-core.ts'));
    const globals = coreGlobals(readFileSync(join(dir, 'flow-core.wasm')));
    expect(() => checkCoreLayout(globals)).toThrow('flow-core.wasm does not match flow-core.ts: ROW_IN_BYTES is 3 in the core and 2 here');
  }, 60_000);

  it('refuses a core that lacks an index, or exports one this side does not know', () => {
    const globals: Record<string, number> = { ...CORE_LAYOUT, STATS: 0, CONFIG: 0, LOCALS: 0, ENI: 0, LOCAL_PORTS: 0, REMOTE_PORTS: 0, PROTOCOLS: 0, OPS: 0, READ: 0, INFLATE: 0, SCRATCH: 0, VERDICTS: 0, ROWS: 0, MINUTES: 0, MEMORY_BYTES: 0 };
    expect(() => checkCoreLayout(globals)).not.toThrow();
    const { OP_END: _, ...missing } = globals;
    expect(() => checkCoreLayout(missing)).toThrow('OP_END is missing in the core');
    expect(() => checkCoreLayout({ ...globals, ROW_SPARE: 12 })).toThrow('flow-core.wasm exports ROW_SPARE, which flow-core.ts does not know');
  });
});
