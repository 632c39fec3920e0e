import { describe, expect, it } from 'vitest';
import { futureTimestampIssue } from './clock-skew.js';

const NOW = Date.parse('2026-12-01T10:00:00.000Z');
const at = (offsetMs: number) => ({ eventTimestamp: new Date(NOW + offsetMs).toISOString() });

describe('futureTimestampIssue', () => {
  it.each([
    ['in the past', -86_400_000],
    ['now', 0],
    ['30 s ahead', 30_000],
    ['exactly the skew ahead', 300_000],
  ])('lets an eventTimestamp %s pass', (_, offset) => {
    expect(futureTimestampIssue(at(offset), 300_000, NOW)).toBeUndefined();
  });

  it('names eventTimestamp, how far ahead it is and what is allowed, one second past the skew', () => {
    expect(futureTimestampIssue(at(301_000), 300_000, NOW)).toEqual({
      path: 'eventTimestamp',
      message: "is 301 s ahead of the gateway's clock; at most 300 s is allowed",
    });
  });

  it('refuses 2099 with an offset written as +05:30', () => {
    expect(futureTimestampIssue({ eventTimestamp: '2099-01-01T05:30:00+05:30' }, 300_000, NOW)?.path).toBe(
      'eventTimestamp',
    );
  });
});
