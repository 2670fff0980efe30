import type { Platform } from './recording-schema.js';

/**
 * AppStream's session scripts configuration (`config.json` in C:\AppStream\SessionScripts or
 * /opt/appstream/SessionScripts), and the rules AppStream holds it to. orgshield writes it and
 * checks what it wrote, and the audit reads an Elastic fleet's copy with the same rules.
 */

export const SESSION_SCRIPTS_DIRECTORY: Record<Platform, string> = {
  windows: 'C:\\AppStream\\SessionScripts',
  linux: '/opt/appstream/SessionScripts',
};

/** AppStream waits at most this long for the scripts of one event. */
export const MAX_WAITING_TIME_SECONDS = 60;

export interface SessionScriptExecutable {
  context: 'system' | 'user';
  filename: string;
  arguments: string;
  s3LogEnabled: boolean;
}

export interface SessionScriptEvent {
  executables: SessionScriptExecutable[];
  waitingTime: number;
}

export interface SessionScriptsConfig {
  SessionStart: SessionScriptEvent;
  SessionTermination: SessionScriptEvent;
}

const EVENTS = ['SessionStart', 'SessionTermination'] as const;

/** What AppStream would refuse (or silently skip) in a config.json, one sentence each. */
export function sessionScriptsConfigProblems(config: unknown): string[] {
  if (typeof config !== 'object' || config === null) return ['config.json must be a JSON object'];
  const problems: string[] = [];
  for (const event of EVENTS) {
    const value = (config as Record<string, unknown>)[event];
    if (typeof value !== 'object' || value === null) {
      problems.push(`${event} is missing`);
      continue;
    }
    const { executables, waitingTime } = value as Partial<Record<keyof SessionScriptEvent, unknown>>;
    if (typeof waitingTime !== 'number' || !Number.isInteger(waitingTime) || waitingTime < 1 || waitingTime > MAX_WAITING_TIME_SECONDS) {
      problems.push(`${event}.waitingTime must be a whole number of seconds from 1 to ${MAX_WAITING_TIME_SECONDS}, not ${JSON.stringify(waitingTime)}`);
    }
    if (!Array.isArray(executables)) {
      problems.push(`${event}.executables must be a list`);
      continue;
    }
    for (const context of ['system', 'user'] as const) {
      const count = executables.filter((executable) => (executable as { context?: unknown } | null)?.context === context).length;
      if (count > 1) problems.push(`${event} has ${count} executables in the ${context} context; AppStream runs at most one`);
    }
    executables.forEach((executable: unknown, index) => {
      const { context, filename, arguments: args, s3LogEnabled } = (executable ?? {}) as Record<string, unknown>;
      if (context !== 'system' && context !== 'user') problems.push(`${event}.executables[${index}].context must be "system" or "user", not ${JSON.stringify(context)}`);
      if (typeof filename !== 'string' || filename === '') problems.push(`${event}.executables[${index}].filename must name the executable`);
      if (typeof args !== 'string') problems.push(`${event}.executables[${index}].arguments must be a string`);
      if (typeof s3LogEnabled !== 'boolean') problems.push(`${event}.executables[${index}].s3LogEnabled must be true or false`);
    });
  }
  return problems;
}
