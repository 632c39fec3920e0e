import type { IHeaders, KafkaMessage } from 'kafkajs';

/**
 * What travels with a record on a retry topic (as Kafka headers; the value is the original event, unchanged).
 * A record names one recipient when one delivery failed; without `userId` every recipient of the event is tried
 * again (a replayed poison record) and the ledger's claims keep those already served from a second message.
 */
export interface RetryEnvelope {
  userId?: string;
  /** Attempts made so far. */
  attempts: number;
  /** Not to be tried before this time. */
  dueAt: Date;
  firstFailedAt: Date;
  /**
   * When the gateway first took the record in (its Kafka timestamp on the event topic): a retry or a replay is as old
   * as the notice it carries, however late it is written again. Absent on records written before it was carried.
   */
  ingestedAt?: Date;
  lastErrorCode?: string;
  original: { topic: string; partition: number; offset: string; key: string | null };
  /** The dead letter this record replays, when it does. */
  replayOf?: string;
}

const h = (headers: IHeaders | undefined, name: string): string | undefined => {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
};

/** Where a record written again came from, and when the gateway first took it in: read back by readRetryEnvelope. */
export function originHeaders(envelope: Pick<RetryEnvelope, 'original' | 'ingestedAt'>): Record<string, string> {
  return {
    'x-original-topic': envelope.original.topic,
    'x-original-partition': String(envelope.original.partition),
    'x-original-offset': envelope.original.offset,
    'x-original-key': envelope.original.key ?? '',
    ...(envelope.ingestedAt && { 'x-ingested-at': envelope.ingestedAt.toISOString() }),
  };
}

export function retryHeaders(envelope: RetryEnvelope): Record<string, string> {
  return {
    'x-attempts': String(envelope.attempts),
    'x-due-at': envelope.dueAt.toISOString(),
    'x-first-failed-at': envelope.firstFailedAt.toISOString(),
    ...originHeaders(envelope),
    ...(envelope.userId && { 'x-user-id': envelope.userId }),
    ...(envelope.lastErrorCode && { 'x-last-error-code': envelope.lastErrorCode }),
    ...(envelope.replayOf && { 'x-replay-of': envelope.replayOf }),
  };
}

/** Reads the envelope back; a record without one (written by hand) counts as due now, first attempt. */
export function readRetryEnvelope(message: KafkaMessage, topic: string, partition: number): RetryEnvelope {
  const headers = message.headers;
  const now = new Date();
  const dueAt = h(headers, 'x-due-at');
  const first = h(headers, 'x-first-failed-at');
  const userId = h(headers, 'x-user-id');
  const lastErrorCode = h(headers, 'x-last-error-code');
  const replayOf = h(headers, 'x-replay-of');
  const ingestedAt = dateOr(h(headers, 'x-ingested-at'), undefined);
  return {
    attempts: Math.max(0, Math.min(1_000, Math.trunc(Number(h(headers, 'x-attempts') ?? 0) || 0))),
    // Headers are whatever was written to the topic: a date or number that does not parse means "none given".
    dueAt: dateOr(dueAt, now),
    firstFailedAt: dateOr(first, now),
    original: {
      topic: h(headers, 'x-original-topic') || topic,
      partition: partitionOr(h(headers, 'x-original-partition'), partition),
      offset: /^\d+$/.test(h(headers, 'x-original-offset') ?? '') ? h(headers, 'x-original-offset')! : message.offset,
      key: h(headers, 'x-original-key') || (message.key?.toString() ?? null),
    },
    ...(ingestedAt && { ingestedAt }),
    ...(userId && { userId }),
    ...(lastErrorCode && { lastErrorCode }),
    ...(replayOf && { replayOf }),
  };
}

function dateOr<T extends Date | undefined>(text: string | undefined, fallback: T): Date | T {
  const date = text ? new Date(text) : fallback;
  return date === undefined || Number.isNaN(date.getTime()) ? fallback : date;
}

/** A partition is a whole number from 0; anything else (empty, negative, words) means none was given. */
function partitionOr(text: string | undefined, fallback: number): number {
  return text !== undefined && /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : fallback;
}
