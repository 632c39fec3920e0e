/**
 * Exponential backoff with jitter: between half and all of base·2^attempt (capped), so that many clients retrying
 * after the same outage do not come back in step.
 */
export function backoffDelay(attempt: number, { baseMs = 200, maxMs = 30_000 } = {}): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
