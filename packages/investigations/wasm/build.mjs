/**
 * Compiles the flow-log core (wasm/flow-core.ts, AssemblyScript) to src/flow-core.wasm,
 * which is committed so that running the package needs no compiler:
 *
 *   npm run build:wasm -w @orgshield/investigations
 *
 * src/flow-core-wasm.test.ts compiles it again with the same options and fails when the
 * committed file differs.
 */
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

export const SOURCE = fileURLToPath(new URL('./flow-core.ts', import.meta.url));
export const OUTPUT = fileURLToPath(new URL('../src/flow-core.wasm', import.meta.url));

/** Compiles the core (or another source, in tests) to `outFile`; throws with the compiler's messages when it fails. */
export async function compileFlowCore(outFile = OUTPUT, source = SOURCE) {
  const { error, stderr } = await asc.main([source, '--outFile', outFile, '-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd']);
  if (error) throw new Error(`${error.message}\n${stderr.toString()}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await compileFlowCore();
  console.log(`wrote ${OUTPUT}`);
}
