import { describe, expect, it } from 'vitest';
import { ingestTimeOf } from './ingest-time.js';
import type { RetryEnvelope } from './retry-record.js';

const envelope = (extra: Partial<RetryEnvelope> = {}): RetryEnvelope => ({
  attempts: 1,
  dueAt: new Date('2026-12-01T10:00:20.000Z'),
  firstFailedAt: new Date('2026-12-01T10:00:10.000Z'),
  original: { topic: 'travel-disruption', partition: 0, offset: '5', key: 'W2121' },
  ...extra,
});

describe('ingestTimeOf', () => {
  it("is the record's Kafka timestamp on an event topic", () => {
    const at = Date.now() - 60_000;
    expect(ingestTimeOf({ timestamp: String(at) }).getTime()).toBe(at);
  });

  it('is never later than now, whatever timestamp a producer wrote', () => {
    const before = Date.now();
    const read = ingestTimeOf({ timestamp: String(Date.parse('2099-01-01T00:00:00Z')) }).getTime();
    expect(read).toBeGreaterThanOrEqual(before);
    expect(read).toBeLessThanOrEqual(Date.now());
  });

  it('is the first ingest time a retry carries, not the time the retry was written', () => {
    const ingestedAt = new Date('2026-12-01T10:00:00.000Z');
    expect(ingestTimeOf({ timestamp: String(Date.now()) }, envelope({ ingestedAt }))).toEqual(ingestedAt);
  });

  it('is the first failure for a retry written before the ingest time was carried', () => {
    expect(ingestTimeOf({ timestamp: String(Date.now()) }, envelope())).toEqual(new Date('2026-12-01T10:00:10.000Z'));
  });
});
