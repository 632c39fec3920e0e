import { describe, expect, it } from 'vitest';
import { retriesFor } from './status-webhooks.js';

/** The least pg-boss waits over n retries with backoff: d·2ⁱ before retry i + 1 (its jitter only adds). */
const leastWait = (delaySeconds: number, retries: number) =>
  Array.from({ length: retries }, (_, i) => (delaySeconds * 2 ** Math.min(16, i + 1)) / 2).reduce((a, b) => a + b, 0);

describe('retriesFor', () => {
  it.each([
    [10, 24],
    [1, 24],
    [60, 24],
    [5, 1],
  ])(
    'gives a notice retried from %i s apart enough tries to span %i h, and no more than that needs',
    (delay, hours) => {
      const retries = retriesFor(delay, hours);
      expect(leastWait(delay, retries)).toBeGreaterThanOrEqual(hours * 3600);
      expect(leastWait(delay, retries - 1)).toBeLessThan(hours * 3600);
    },
  );
});
