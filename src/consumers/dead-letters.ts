import { dlqTopic } from '../kafka/names.js';
import type { Producer } from 'kafkajs';
import type pg from 'pg';
import { storableJson, storableText } from '../db/storable.js';
import type { Channel } from '../events/index.js';
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
  };
}

/** A Kafka record that could not be delivered, with where it came from. */
export interface FailedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
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
  topicPrefix = '',
}: {
  producer: Producer;
  pool: pg.Pool;
  topicPrefix?: string;
}) {
  return async function deadLetter(entry: DeadLetter): Promise<void> {
    const now = new Date().toISOString();
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
    const payload = entry.record.value ? safeJson(entry.record.value) : null;
    await pool.query(
      `INSERT INTO dead_letters (channel, event_id, event_type, user_id, idempotency_key, original_topic, original_partition,
         original_offset, original_key, consumer_group, attempts, first_failed_at, last_failed_at, error_class, error_code,
         error_message, payload)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
      // A poison record may carry anything (a NUL in its key or its text): the entry must go in all the same.
      [
        entry.channel,
        isUuid(entry.eventId) ? entry.eventId : null,
        storableText(entry.eventType),
        storableText(entry.userId),
        storableText(entry.idempotencyKey),
        entry.record.topic,
        entry.record.partition,
        entry.record.offset,
        storableText(entry.record.key),
        entry.consumerGroup,
        entry.attempts,
        entry.firstFailedAt,
        now,
        entry.errorClass,
        storableText(entry.code),
        storableText(storedMessage(entry.message)),
        payload === null ? null : JSON.stringify(storableJson(payload)),
      ],
    );
  };
}

export type DeadLetterWriter = ReturnType<typeof createDeadLetterWriter>;

/** Redacted before it is cut, so the cut never leaves half an address behind. */
const storedMessage = (message: string) => redactProviderText(message).slice(0, 500);

const isUuid = (value: string | undefined) =>
  !!value && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);

/** The record as JSON when it is JSON; otherwise its text, so a poison record can still be inspected. */
function safeJson(value: Buffer): unknown {
  const text = value.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return { unparsed: text.slice(0, 10_000) };
  }
}
