import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay } from './backoff.js';

/** Delays at the two ends of the jitter: the smallest and the largest Math.random can give. */
const withRandom = (value: number, run: () => number) => {
  vi.spyOn(Math, 'random').mockReturnValue(value);
  return run();
};

describe('backoffDelay', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each([
    // attempt, options, the ceiling base·2^attempt (capped)
    [0, {}, 200],
    [1, {}, 400],
    [4, {}, 3_200],
    [7, {}, 25_600],
    [8, {}, 30_000], // 51 200 capped
    [60, {}, 30_000],
    [2_000, {}, 30_000], // 2^2000 is Infinity: still the cap
    [-3, {}, 200], // a negative attempt counts as the first
    [0, { baseMs: 5_000, maxMs: 300_000 }, 5_000], // the deferred sender's retries
    [5, { baseMs: 5_000, maxMs: 300_000 }, 160_000],
    [6, { baseMs: 5_000, maxMs: 300_000 }, 300_000], // 320 000 capped
    [3, { maxMs: 1_000 }, 1_000],
  ])('attempt %s with %j: between half and all of %s ms', (attempt, options, ceiling) => {
    expect(withRandom(0, () => backoffDelay(attempt, options))).toBe(Math.round(ceiling / 2));
    expect(withRandom(0.999_999_999, () => backoffDelay(attempt, options))).toBe(ceiling);
    vi.restoreAllMocks();
    for (let i = 0; i < 200; i += 1) {
      const delay = backoffDelay(attempt, options);
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
      expect(Number.isInteger(delay)).toBe(true);
    }
  });

  it('spreads clients retrying after the same outage instead of bringing them back in step', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(5)));
    expect(delays.size).toBeGreaterThan(10);
  });
});
