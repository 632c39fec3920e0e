/** Time helpers: the run's budget, bounded waits and a once-a-second sampler that never overlaps itself. */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

export type Progress = (line: string) => void;

/**
 * The whole run's time. Every open-ended wait (drain, fanout) asks it how long it may take, keeping back what the
 * parts still to come need, so a slow gateway shortens the waits instead of stretching the run past its budget.
 */
export class Budget {
  private readonly deadline: number;
  constructor(
    totalMs: number,
    private readonly startedAt = performance.now(),
  ) {
    this.deadline = startedAt + totalMs;
  }
  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }
  remainingMs(): number {
    return this.deadline - performance.now();
  }
  /** At most `capMs`, and no more than leaves `reserveMs` for what comes after; never below `floorMs`. */
  allow(capMs: number, reserveMs: number, floorMs = 0): number {
    return Math.max(floorMs, Math.min(capMs, this.remainingMs() - reserveMs));
  }
}

/** Polls until `check` returns something other than undefined/false, or gives up at the deadline with undefined. */
export async function pollUntil<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  intervalMs = 200,
): Promise<T | undefined> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (performance.now() >= deadline) return undefined;
    await sleep(Math.min(intervalMs, deadline - performance.now()));
  }
}

/** Like pollUntil, but a timeout is an error naming what was awaited. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  intervalMs = 200,
): Promise<T> {
  let lastError: unknown;
  const value = await pollUntil(
    async () => {
      try {
        return await check();
      } catch (error) {
        lastError = error;
        return undefined;
      }
    },
    timeoutMs,
    intervalMs,
  );
  if (value === undefined)
    throw new Error(
      `${what}: not after ${Math.round(timeoutMs / 1000)} s${lastError ? ` (${errorText(lastError)})` : ''}`,
    );
  return value;
}

export interface Ticker {
  stop(): Promise<void>;
}

/**
 * Runs `tick` every `intervalMs` until stopped. A tick that takes longer than the interval delays the next instead of
 * piling up (a slow database must not get a queue of count queries), and a failing tick is reported, not fatal.
 */
export function every(
  intervalMs: number,
  tick: () => Promise<void> | void,
  onError: (error: unknown) => void = () => {},
): Ticker {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const loop = () => {
    if (stopped) return;
    const started = performance.now();
    running = (async () => {
      try {
        await tick();
      } catch (error) {
        onError(error);
      }
    })();
    void running.then(() => {
      if (!stopped) timer = setTimeout(loop, Math.max(0, intervalMs - (performance.now() - started)));
    });
  };
  loop();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Rounds for the report: whole numbers above 100, one decimal below. */
export const round = (value: number): number =>
  Math.abs(value) >= 100 ? Math.round(value) : Math.round(value * 10) / 10;
