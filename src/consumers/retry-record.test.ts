import type { IHeaders, KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { readRetryEnvelope, retryHeaders, type RetryEnvelope } from './retry-record.js';

/** A record as kafkajs hands it to a consumer: headers arrive as Buffers, whatever was written; undefined: not written. */
const record = (
  headers: Record<string, string | string[] | undefined>,
  { key = 'PNR123', offset = '42' }: { key?: string | null; offset?: string } = {},
): KafkaMessage => {
  const asBuffers: IHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined)
      asBuffers[name] = Array.isArray(value) ? value.map((v) => Buffer.from(v)) : Buffer.from(value);
  }
  return {
    key: key === null ? null : Buffer.from(key),
    value: Buffer.from('{}'),
    timestamp: '0',
    attributes: 0,
    offset,
    headers: asBuffers,
  };
};

const ONE_RECIPIENT: RetryEnvelope = {
  userId: 'asha',
  attempts: 3,
  dueAt: new Date('2026-12-01T10:00:10.000Z'),
  firstFailedAt: new Date('2026-12-01T10:00:00.000Z'),
  ingestedAt: new Date('2026-12-01T09:59:58.123Z'),
  lastErrorCode: 'TWILIO_20503',
  original: { topic: 'booking-confirmed', partition: 2, offset: '1077', key: 'PNR123' },
};

describe('retryHeaders ↔ readRetryEnvelope', () => {
  it.each<[string, RetryEnvelope]>([
    ['one recipient, with its last error', ONE_RECIPIENT],
    [
      'every recipient (no userId), a replayed dead letter',
      { ...ONE_RECIPIENT, userId: undefined, lastErrorCode: undefined, replayOf: 'dl-7', attempts: 0 },
    ],
    [
      'partition 0 and offset 0',
      { ...ONE_RECIPIENT, original: { ...ONE_RECIPIENT.original, partition: 0, offset: '0' } },
    ],
  ])('%s comes back as it went', (_, envelope) => {
    const read = readRetryEnvelope(record(retryHeaders(envelope)), 'notifications.sms.retry.1', 0);
    expect(read).toEqual(envelope);
  });

  it('a null original key travels as an empty header and reads back as the record’s own key, or null', () => {
    const headers = retryHeaders({ ...ONE_RECIPIENT, original: { ...ONE_RECIPIENT.original, key: null } });
    expect(headers['x-original-key']).toBe('');
    expect(readRetryEnvelope(record(headers, { key: 'PNR9' }), 't', 0).original.key).toBe('PNR9');
    expect(readRetryEnvelope(record(headers, { key: null }), 't', 0).original.key).toBeNull();
  });

  it('reads the first value of a header written more than once', () => {
    const headers = { ...retryHeaders(ONE_RECIPIENT), 'x-attempts': ['4', '9'] };
    expect(readRetryEnvelope(record(headers), 't', 0).attempts).toBe(4);
  });
});

describe('readRetryEnvelope on headers that are garbage or missing', () => {
  it.each([
    ['missing', undefined, 0],
    ['empty', '', 0],
    ['not a number', 'three', 0],
    ['NaN', 'NaN', 0],
    ['negative', '-2', 0],
    ['a fraction', '2.9', 2],
    ['absurdly large', '1e9', 1_000],
    ['Infinity', 'Infinity', 1_000],
  ])('x-attempts %s → %s', (_, header, attempts) => {
    expect(readRetryEnvelope(record({ 'x-attempts': header }), 't', 0).attempts).toBe(attempts);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['not a date', 'tomorrow-ish'],
    ['an impossible date', '2026-13-45T99:00:00Z'],
  ])('x-due-at and x-first-failed-at %s → now (due at once)', (_, header) => {
    const before = Date.now();
    const read = readRetryEnvelope(record({ 'x-due-at': header, 'x-first-failed-at': header }), 't', 0);
    const after = Date.now();
    for (const date of [read.dueAt, read.firstFailedAt]) {
      expect(date.getTime()).toBeGreaterThanOrEqual(before);
      expect(date.getTime()).toBeLessThanOrEqual(after);
    }
  });

  it.each([
    ['missing', undefined, 1],
    ['not a number', 'two', 1],
    ['a fraction', '1.5', 1],
    ['too large to be exact', '9007199254740993', 1],
    ['empty', '', 1],
    ['negative', '-1', 1],
    ['a number', '2', 2],
    ['zero', '0', 0],
  ])('x-original-partition %s → %s (the partition read from, when unusable)', (_, header, partition) => {
    expect(readRetryEnvelope(record({ 'x-original-partition': header }), 't', 1).original.partition).toBe(partition);
  });

  it('a record with no envelope at all (written by hand) is the first attempt at its own place, due now', () => {
    const before = Date.now();
    const read = readRetryEnvelope(record({}, { key: 'PNR5', offset: '17' }), 'notifications.email.retry.2', 1);
    expect(read).toMatchObject({
      attempts: 0,
      original: { topic: 'notifications.email.retry.2', partition: 1, offset: '17', key: 'PNR5' },
    });
    expect(read.dueAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(read).not.toHaveProperty('userId');
    expect(read).not.toHaveProperty('lastErrorCode');
    expect(read).not.toHaveProperty('replayOf');
  });

  it.each([
    ['x-user-id', 'userId'],
    ['x-last-error-code', 'lastErrorCode'],
    ['x-replay-of', 'replayOf'],
    ['x-ingested-at', 'ingestedAt'],
  ])('an empty %s counts as absent', (header, field) => {
    expect(readRetryEnvelope(record({ [header]: '' }), 't', 0)).not.toHaveProperty(field);
  });

  it('an x-ingested-at that is not a date counts as absent', () => {
    expect(readRetryEnvelope(record({ 'x-ingested-at': 'yesterday' }), 't', 0)).not.toHaveProperty('ingestedAt');
  });
});
