import { setTimeout as sleep } from 'node:timers/promises';
import { inspect, isDeepStrictEqual } from 'node:util';

/** Polls `check` until it returns a value other than undefined/false, or fails with `what` after the deadline. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 20_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`,
  );
}

/**
 * Polls `read` for `ms` and fails with `what` as soon as its value differs from the first one: for "nothing more
 * happens", such as a second copy that would have arrived by now. Resolves with the value, unchanged.
 */
export async function unchangedFor<T>(
  what: string,
  read: () => Promise<T> | T,
  ms: number,
  { intervalMs = 50 } = {},
): Promise<T> {
  const first = await read();
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
    const now = await read();
    if (!isDeepStrictEqual(now, first))
      throw new Error(`${what} changed within ${ms} ms: ${inspect(first)} became ${inspect(now)}`);
  }
  return first;
}
