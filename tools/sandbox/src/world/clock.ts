/**
 * Time as a parameter: services that evolve (compliance evaluation, job progress) wait through
 * `delay` and compute due times with `scale`, so `timeScale: 0.01` runs an hour in 36 seconds.
 * `now()` stays wall-clock time: timestamps go back to SDK clients that compare them with their
 * own clock (credential expiry, for one).
 */
export class Clock {
  constructor(readonly timeScale: number) {}

  now(): Date {
    return new Date();
  }

  /** Real milliseconds a simulated duration takes. */
  scale(simulatedMs: number): number {
    return simulatedMs * this.timeScale;
  }

  delay(simulatedMs: number): Promise<void> {
    const ms = this.scale(simulatedMs);
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
