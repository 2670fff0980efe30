import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidInputError } from '@orgshield/errors';
import { formatSpecProblem } from '@orgshield/policies';
import {
  ELASTIC_SCRIPTS_ZIP,
  imageAssistantSteps,
  loadRecording,
  RecordingFileError,
  renderElasticScriptsZip,
  renderSessionScripts,
  type LoadedRecording,
} from '@orgshield/session-recording';
import { choiceOption, formatTable, note, OUTPUT_FORMATS, printJson, type OutputFormat } from './cli-kit.js';

/** Every problem of the file on stderr, then one sentence for the exit (code 2). */
async function loadOrRefuse(file: string): Promise<LoadedRecording> {
  try {
    return await loadRecording(file);
  } catch (error) {
    if (!(error instanceof RecordingFileError)) throw error;
    for (const problem of error.problems) note(formatSpecProblem(problem));
    const count = error.problems.length;
    throw new InvalidInputError(`${file} has ${count} problem${count === 1 ? '' : 's'} (listed above); nothing was done.`, { code: error.code, cause: error });
  }
}

const outputOption = ['--output <format>', 'table or json', choiceOption('--output', OUTPUT_FORMATS), 'table' as OutputFormat] as const;

export function configureRecordingCommand(program: Command): void {
  const recording = program.command('recording').description('AppStream 2.0 session recording: session scripts, setup, audit, and people\'s recordings');

  recording
    .command('scripts')
    .description('write the session scripts of a recording file (config.json and the recorder; the zip for an Elastic fleet) for the image builder')
    .argument('<file>', 'recording file (kind: SessionRecording)')
    .requiredOption('--out <dir>', 'folder to write them to (made if missing)')
    .option(...outputOption)
    .action(async (file: string, options: { out: string; output: OutputFormat }) => {
      const { recording: spec } = await loadOrRefuse(file);
      await mkdir(options.out, { recursive: true });
      const written: { file: string; bytes: number }[] = [];
      for (const script of renderSessionScripts(spec)) {
        const path = join(options.out, script.name);
        await writeFile(path, script.content);
        // writeFile keeps the mode of a file that exists; the recorder must be runnable either way.
        await chmod(path, script.executable ? 0o755 : 0o644);
        written.push({ file: path, bytes: Buffer.byteLength(script.content) });
      }
      if (spec.appstream.fleet.type === 'ELASTIC') {
        const zip = renderElasticScriptsZip(spec);
        const path = join(options.out, ELASTIC_SCRIPTS_ZIP);
        await writeFile(path, zip);
        written.push({ file: path, bytes: zip.length });
      }
      const steps = imageAssistantSteps(spec);
      if (options.output === 'json') return printJson({ platform: spec.appstream.platform, files: written, imageAssistantSteps: steps });
      process.stdout.write(formatTable(['FILE', 'BYTES'], written.map((entry) => [entry.file, entry.bytes])));
      if (steps.length > 0) note(['On the image builder (Image Assistant has no API):', ...steps].join('\n'));
    });
}
