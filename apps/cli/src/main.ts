#!/usr/bin/env node
import { CommanderError } from 'commander';
import { EXIT_CODES, OrgshieldError, isShapedLikeOrgshieldError, printable } from '@orgshield/errors';
import { buildProgram } from './program.js';

async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  // Node 20 is this project's runtime; the SDK's notice about its 2027 support window is in the README.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  if (debug) process.env['LOG_LEVEL'] ??= 'debug';
  try {
    await (await buildProgram(argv)).parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_CODES.done;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version end with exit code 0; every other commander error is bad usage.
      return error.exitCode === 0 ? EXIT_CODES.done : EXIT_CODES.badInput;
    }
    // The sandbox (a tool that imports no package) shapes its errors the same way.
    if (error instanceof OrgshieldError || isShapedLikeOrgshieldError(error)) {
      process.stderr.write(`orgshield: ${printable(error.message)}\n`);
      if (debug) process.stderr.write(`${error.stack ?? ''}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`orgshield: unexpected error: ${printable(message)} (run with --debug for details)\n`);
    if (debug && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
    return EXIT_CODES.failed;
  }
}

// A reader that stops early (`orgshield org list | head`) closes the pipe: end quietly, as git and
// kubectl do. They die of SIGPIPE, which a shell reports as 141; Node ignores SIGPIPE, so the
// same status is the exit code, and `set -o pipefail` scripts see what they see for git.
const SIGPIPE_EXIT_CODE = 141;
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(SIGPIPE_EXIT_CODE);
    throw error;
  });
}

// Commands close what they open; exiting here also ends any connection a library left behind,
// once what was written to stdout and stderr has reached the pipe (process.exit would cut it).
const exitCode = await main(process.argv);
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))));
process.exit(exitCode);
