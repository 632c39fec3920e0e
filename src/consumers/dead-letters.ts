import { dlqTopic } from '../kafka/names.js';
import type { FieldCipher } from '../util/field-cipher.js';
import type { Producer } from 'kafkajs';
import type pg from 'pg';
import type { Channel } from '../events/index.js';
import { createDeadLettersRepository } from '../store/dead-letters.repository.js';
import { redactProviderText } from '../util/redact.js';

/** The headers every dead letter carries: where the record came from, and why it failed. */
export function deadLetterHeaders(
  entry: Pick<
    DeadLetter,
    'record' | 'consumerGroup' | 'attempts' | 'firstFailedAt' | 'errorClass' | 'code' | 'message'
  >,
): Record<string, string> {
  return {
    'x-original-topic': entry.record.topic,
    'x-original-partition': String(entry.record.partition),
    'x-original-offset': entry.record.offset,
    'x-original-key': entry.record.key ?? '',
    'x-consumer-group': entry.consumerGroup,
    'x-attempts': String(entry.attempts),
    'x-first-failed-at': entry.firstFailedAt.toISOString(),
    'x-last-failed-at': new Date().toISOString(),
    'x-error-class': entry.errorClass,
    'x-error-code': entry.code,
    'x-error-message': storedMessage(entry.message),
    ...(entry.record.ingestedAt && { 'x-ingested-at': entry.record.ingestedAt.toISOString() }),
  };
}

/** A Kafka record that could not be delivered, with where it came from. */
export interface FailedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  /** When the gateway first took it in (see ingest-time.ts); retries and replays carry it on. */
  ingestedAt?: Date;
}

export interface DeadLetter {
  channel: Channel;
  consumerGroup: string;
  record: FailedRecord;
  eventId?: string;
  eventType?: string;
  userId?: string;
  idempotencyKey?: string;
  attempts: number;
  firstFailedAt: Date;
  /** 'permanent': retrying cannot help; 'exhausted': retries ran out. */
  errorClass: 'permanent' | 'exhausted';
  code: string;
  /** Never personal data: codes and provider messages only, redacted again here where they are stored. */
  message: string;
}

/**
 * Writes to `notifications.<channel>.dlq` (headers say where the record came from and why it failed) and indexes the
 * entry in PostgreSQL for the admin API. The topic write comes first: once it is acked the record is safe to commit.
 */
export function createDeadLetterWriter({
  producer,
  pool,
  cipher,
  topicPrefix = '',
}: {
  producer: Producer;
  pool: pg.Pool;
  /** Seals the record the index keeps. */
  cipher: FieldCipher;
  topicPrefix?: string;
}) {
  const deadLetters = createDeadLettersRepository(pool, cipher);
  return async function deadLetter(entry: DeadLetter): Promise<void> {
    const now = new Date();
    const headers: Record<string, string> = {
      ...deadLetterHeaders(entry),
      ...(entry.idempotencyKey && { 'x-idempotency-key': entry.idempotencyKey }),
      ...(entry.userId && { 'x-user-id': entry.userId }),
    };
    await producer.send({
      topic: dlqTopic(entry.channel, topicPrefix),
      acks: -1,
      messages: [{ key: entry.record.key, value: entry.record.value, headers }],
    });
    await deadLetters.insert({
      channel: entry.channel,
      eventId: entry.eventId,
      eventType: entry.eventType,
      userId: entry.userId,
      idempotencyKey: entry.idempotencyKey,
      original: entry.record,
      consumerGroup: entry.consumerGroup,
      attempts: entry.attempts,
      firstFailedAt: entry.firstFailedAt,
      lastFailedAt: now,
      errorClass: entry.errorClass,
      errorCode: entry.code,
      errorMessage: storedMessage(entry.message),
      payload: entry.record.value ? safeJson(entry.record.value) : null,
    });
  };
}

export type DeadLetterWriter = ReturnType<typeof createDeadLetterWriter>;

/** Redacted before it is cut, so the cut never leaves half an address behind. */
const storedMessage = (message: string) => redactProviderText(message).slice(0, 500);

/** The record as JSON when it is JSON; otherwise its text, so a poison record can still be inspected. */
function safeJson(value: Buffer): unknown {
  const text = value.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return { unparsed: text.slice(0, 10_000) };
  }
}
