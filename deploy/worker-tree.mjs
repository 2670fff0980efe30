#!/usr/bin/env node
// Assembles the worker's runtime tree from a built checkout: the root manifest and lockfile, and
// for each workspace the worker needs at run time (its @orgshield/* dependency closure) the
// files `npm pack` would publish (package.json, dist/, the assets its "files" field names).
// `npm ci --omit=dev --workspace @orgshield/worker` in the result installs production
// dependencies only. The Dockerfile's build stage and the deployment test both run this, so a
// file or dependency the worker needs at run time and the tree lacks fails the test, not a pod.
//
//   node deploy/worker-tree.mjs OUT_DIR        (after `npm ci && npm run build`)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: node deploy/worker-tree.mjs OUT_DIR\n');
  process.exit(2);
}

/** Workspace name → folder, from the root manifest's workspace globs (`packages/*` and the like). */
const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const folders = new Map();
for (const glob of rootManifest.workspaces) {
  const parent = glob.replace(/\/\*$/, '');
  for (const entry of readdirSync(join(root, parent), { withFileTypes: true })) {
    const manifest = join(root, parent, entry.name, 'package.json');
    if (entry.isDirectory() && existsSync(manifest)) folders.set(JSON.parse(readFileSync(manifest, 'utf8')).name, join(parent, entry.name));
  }
}

/** The worker and every workspace it reaches through `dependencies`. */
const needed = new Set();
const visit = (name) => {
  if (needed.has(name)) return;
  const folder = folders.get(name);
  if (!folder) throw new Error(`${name} is not a workspace of this repository`);
  needed.add(name);
  const manifest = JSON.parse(readFileSync(join(root, folder, 'package.json'), 'utf8'));
  for (const dep of Object.keys(manifest.dependencies ?? {})) if (folders.has(dep)) visit(dep);
};
visit('@orgshield/worker');

mkdirSync(out, { recursive: true });
// The root manifest keeps its workspace list: npm ci checks it against the lockfile. Workspaces
// the worker does not need are absent; `--workspace @orgshield/worker` keeps npm from wanting them.
writeFileSync(join(out, 'package.json'), `${JSON.stringify({ ...rootManifest, scripts: {} }, null, 2)}\n`);
cpSync(join(root, 'package-lock.json'), join(out, 'package-lock.json'));
for (const name of [...needed].sort()) {
  const folder = folders.get(name);
  if (!existsSync(join(root, folder, 'dist'))) throw new Error(`${folder}/dist is missing: run \`npm run build\` first`);
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: join(root, folder), encoding: 'utf8' }));
  for (const file of packed.files) {
    mkdirSync(dirname(join(out, folder, file.path)), { recursive: true });
    cpSync(join(root, folder, file.path), join(out, folder, file.path));
  }
}
process.stdout.write(`${[...needed].sort().join('\n')}\n`);
