import { dirname } from 'node:path';
import { documentValue, parseSourceWithinLimits, parseYamlWithSchema, readInputFile, resolveUnderRoot, SpecFileError, specProblemAt, type SpecProblem } from '@orgshield/spec-files';
import { DrillSchema, type Drill } from './drill-schema.js';

/**
 * A drill file with the text of every CA file its checks name, keyed as the drill writes the
 * path. This is what a job carries: the worker checks exactly what the operator checked, and
 * needs none of the operator's files.
 */
export interface DrillSource {
  file: string;
  text: string;
  caFiles: Record<string, string>;
}

export interface LoadedDrill {
  source: DrillSource;
  drill: Drill;
}

/** A drill file is not acceptable (exit code 2); `problems` lists every one found. */
export class DrillFileError extends SpecFileError {
  constructor(problems: readonly SpecProblem[]) {
    super(problems, { code: 'InvalidDrill', what: 'the drill file' });
  }
}

const CA_MAX_BYTES = 256 * 1024;

/** Reads a drill file and every CA file its checks name (paths relative to the drill file). */
export async function readDrillSource(file: string): Promise<DrillSource> {
  const text = await readInputFile(file, 'drill');
  const caFiles: Record<string, string> = {};
  const folder = { path: dirname(file), what: 'CA file', setting: "the drill file's folder" };
  for (const path of caFilePaths(text, file)) {
    // A missing, unreadable or oversized CA, or one outside the drill file's folder, is left out: parseDrillSource names it at its line.
    const ca = await resolveUnderRoot(folder, path).then((real) => readInputFile(real, 'CA certificate')).catch(() => undefined);
    if (ca !== undefined && ca.length <= CA_MAX_BYTES) caFiles[path] = ca;
  }
  return { file, text, caFiles };
}

/** Reads and checks a drill file; nothing is sent anywhere. */
export async function loadDrill(file: string): Promise<LoadedDrill> {
  return parseDrillSource(await readDrillSource(file));
}

/** Checks a drill file, reporting every problem with file, line, column and field path. */
export function parseDrillSource(source: DrillSource): LoadedDrill {
  const parsed = parseYamlWithSchema(source.text, source.file, DrillSchema);
  if (!parsed.ok) throw new DrillFileError(parsed.problems.map(explainRealRecovery));
  const drill = parsed.value;
  const problems: SpecProblem[] = [];
  drill.waves.forEach((wave, waveIndex) => {
    wave.checks.forEach((check, checkIndex) => {
      if (check.type !== 'https' || check.ca === undefined) return;
      const ca = source.caFiles[check.ca];
      const path = ['waves', waveIndex, 'checks', checkIndex, 'ca'];
      if (ca === undefined) problems.push(specProblemAt(source.file, path, `CA file ${check.ca} was not read (missing, or over 256 KiB); check the path`, parsed.locate));
      else if (!ca.includes('-----BEGIN CERTIFICATE-----')) problems.push(specProblemAt(source.file, path, `CA file ${check.ca} holds no PEM certificate`, parsed.locate));
    });
  });
  if (problems.length > 0) throw new DrillFileError(problems);
  return { source, drill };
}

/** `isDrill` is not a drill file's field: say why, rather than "unknown field". */
function explainRealRecovery(problem: SpecProblem): SpecProblem {
  if (!/(^|\.)isDrill$/.test(problem.path)) return problem;
  return { ...problem, message: 'a drill file cannot start a real recovery: every launch is a drill (isDrill: true); remove isDrill' };
}

/** Paths of the CA files a drill's checks name, read leniently: the schema judges the file later. */
function caFilePaths(text: string, file: string): string[] {
  const source = parseSourceWithinLimits(text, file);
  const built = source.ok ? documentValue(source, file) : undefined;
  if (!built?.ok) return [];
  const waves = (built.value as { waves?: unknown } | null)?.waves;
  if (!Array.isArray(waves)) return [];
  const paths = new Set<string>();
  for (const wave of waves as unknown[]) {
    const checks = (wave as { checks?: unknown } | null)?.checks;
    if (!Array.isArray(checks)) continue;
    for (const check of checks as unknown[]) {
      const ca = (check as { ca?: unknown } | null)?.ca;
      if (typeof ca === 'string' && ca !== '') paths.add(ca);
    }
  }
  return [...paths];
}
