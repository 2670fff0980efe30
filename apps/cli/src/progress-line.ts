/**
 * Progress of a long wait (gates, drills, setups, organization walks) on stderr: what is waited
 * on, how far it is, and the time elapsed. On a terminal it is one live line rewritten in place;
 * otherwise (a pipe, a CI log) a plain line at most every `intervalMs`, so a log shows the wait
 * without flooding; callers update as often as they learn something. NO_COLOR (https://no-color.org) turns
 * the colour off; the live line itself is cursor control, not colour.
 */
export interface ProgressLine {
  /** The current state, e.g. `canary/eu-west-1 gate: 120/289 accounts evaluated`. */
  update(text: string): void;
  /** Clears the live line (a plain stream keeps its lines); `text` is printed as a last line. */
  done(text?: string): void;
}

export interface ProgressLineOptions {
  stream?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
  /** Least time between two plain lines; default 2 s. */
  intervalMs?: number;
  now?: () => number;
}

/** `42s`, `3m05s`, `1h02m`. */
export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export function progressLine(label: string, options: ProgressLineOptions = {}): ProgressLine {
  const stream = options.stream ?? process.stderr;
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 2000;
  const live = stream.isTTY === true;
  const color = live && !env['NO_COLOR'];
  const started = now();
  let lastPrinted = -Infinity;
  let shown = false;
  const line = (text: string) => `${color ? `\x1b[1m${label}\x1b[22m` : label}: ${text} (${formatElapsed(now() - started)})`;
  return {
    update(text) {
      if (live) {
        stream.write(`\r\x1b[2K${line(text)}`);
        shown = true;
        return;
      }
      if (now() - lastPrinted < intervalMs) return;
      lastPrinted = now();
      stream.write(`${line(text)}\n`);
    },
    done(text) {
      if (live && shown) stream.write('\r\x1b[2K');
      shown = false;
      if (text !== undefined) stream.write(`${line(text)}\n`);
    },
  };
}
