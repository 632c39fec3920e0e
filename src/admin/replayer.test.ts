import type { IHeaders } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { readRetryEnvelope } from '../consumers/retry-record.js';
import type { DeadLetterEntry } from '../store/dead-letters.repository.js';
import { replayRecord } from './replayer.js';

const entry = (ingestedAt: Date | null): DeadLetterEntry => ({
  id: 7,
  channel: 'sms',
  eventId: '3f1c2a9e-4b7d-4e1a-9c55-0f7a1d2b3c4d',
  eventType: 'TRAVEL_DISRUPTION',
  userId: 'asha',
  idempotencyKey: null,
  original: { topic: 'travel-disruption', partition: 1, offset: '40', key: 'W2121', ingestedAt },
  consumerGroup: 'sms-notification-group',
  attempts: 4,
  firstFailedAt: new Date('2026-12-01T10:00:05.000Z'),
  lastFailedAt: new Date('2026-12-01T10:11:00.000Z'),
  errorClass: 'exhausted',
  errorCode: 'TWILIO_20500',
  errorMessage: null,
  payload: { eventType: 'TRAVEL_DISRUPTION' },
  status: 'pending',
  replayedAt: null,
  replayResult: null,
  createdAt: new Date('2026-12-01T10:11:00.000Z'),
});

/** The envelope a consumer reads back from the replayed record. */
const replayedEnvelope = (from: DeadLetterEntry) => {
  const { message } = replayRecord(from);
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = Buffer.from(String(value));
  return readRetryEnvelope(
    { key: null, value: null, timestamp: String(Date.now()), attributes: 0, offset: '0', headers },
    't',
    0,
  );
};

describe('replayRecord', () => {
  it('carries the time the gateway first took the record in, so the replay is not newer than what came after', () => {
    const ingestedAt = new Date('2026-12-01T10:00:00.250Z');
    expect(replayedEnvelope(entry(ingestedAt)).ingestedAt).toEqual(ingestedAt);
  });

  it('counts an entry kept before the ingest time was stored from its first failure', () => {
    expect(replayedEnvelope(entry(null)).ingestedAt).toEqual(new Date('2026-12-01T10:00:05.000Z'));
  });
});
