/**
 * The one table of exit codes every orgshield process ends with. Scripts and schedulers branch
 * on these numbers, so they never change meaning.
 */
export const EXIT_CODES = {
  /** The work is done. */
  done: 0,
  /** The work failed (an AWS call, a dependency, a bug); trying again may help. */
  failed: 1,
  /** Bad usage or input (a flag, a file, configuration); nothing was changed. */
  badInput: 2,
  /** The work is done, but on incomplete input (some of what it should have read was unreadable). */
  doneOnIncompleteInput: 3,
  /** Stopped by the user (Ctrl-C, SIGINT): 128 + 2, as shells report it; the work can be resumed. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** The exit codes an error can carry: an error never means "done". */
export type ErrorExitCode = typeof EXIT_CODES.failed | typeof EXIT_CODES.badInput | typeof EXIT_CODES.interrupted;
