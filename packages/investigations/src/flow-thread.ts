/**
 * Starts one of this package's worker threads by its entry file's name. Compiled, the entry
 * is the JavaScript next to this file and the thread starts without the process's flags: a
 * loader the process was started with (tsx, a test runner's) would load every module of the
 * thread through it, about 0.3 s more before the thread reads its first file. From source
 * (tests, tsx), this Node version registers tsx's loader on the main thread only, so the
 * thread registers it itself before loading the TypeScript entry.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ResourceLimits, Worker } from 'node:worker_threads';

export function startThread(entry: 'flow-analysis-worker' | 'flow-output-worker', workerData: unknown, resourceLimits: ResourceLimits): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL(`./${entry}.js`, here), { workerData, resourceLimits, execArgv: [] });
  const tsx = join(dirname(createRequire(here).resolve('tsx/package.json')), 'dist/esm/api/index.mjs');
  const url = new URL(`./${entry}.ts`, here).href;
  const bootstrap = `import(${JSON.stringify(pathToFileURL(tsx).href)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url)}); });`;
  return new Worker(bootstrap, { eval: true, workerData, resourceLimits, execArgv: ['--conditions=@orgshield/source'] });
}
