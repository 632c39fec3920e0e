import type { Producer } from 'kafkajs';
import type { Channel, GatewayEvent } from '../events/index.js';
import type { DeadLetterWriter, FailedRecord } from './dead-letters.js';
import { idempotencyKeyOf } from '../store/deliveries.repository.js';
import type { Failure } from './failures.js';
import { retryHeaders, type RetryEnvelope } from './retry-record.js';
import { retryTopic } from '../kafka/names.js';

/** A failed delivery and where it came from. */
export interface FailedDelivery {
  /** The record as it first arrived (its topic, partition, offset and key go into the headers). */
  record: FailedRecord;
  event?: GatewayEvent;
  userId?: string;
  failure: Failure;
  attempts: number;
  firstFailedAt: Date;
}

/** Where a failure went: the next retry topic, or (written, acked) the dead letters. */
export type Routed = 'retried' | 'dead-lettered';

/**
 * Where failures go: a transient one to the next retry topic (due after that level's delay), or, past the last level,
 * to the dead-letter topic as 'exhausted'; a permanent one straight to the dead-letter topic.
 */
export function createFailureRouter({
  channel,
  producer,
  deadLetter,
  consumerGroup,
  delaysMs,
  prefix = '',
}: {
  channel: Channel;
  producer: Producer;
  deadLetter: DeadLetterWriter;
  consumerGroup: string;
  delaysMs: readonly number[];
  prefix?: string;
}) {
  const toDeadLetters = async (failed: FailedDelivery, errorClass: 'permanent' | 'exhausted'): Promise<Routed> => {
    await deadLetter({
      channel,
      consumerGroup,
      record: failed.record,
      attempts: failed.attempts,
      firstFailedAt: failed.firstFailedAt,
      errorClass,
      code: failed.failure.code,
      message: failed.failure.message,
      ...(failed.event && { eventId: failed.event.eventId, eventType: failed.event.eventType }),
      ...(failed.userId && { userId: failed.userId }),
      ...(failed.event &&
        failed.userId && {
          idempotencyKey: idempotencyKeyOf({
            eventId: failed.event.eventId,
            eventType: failed.event.eventType,
            channel,
            userId: failed.userId,
          }),
        }),
    });
    return 'dead-lettered';
  };

  return {
    permanent: (failed: FailedDelivery) => toDeadLetters(failed, 'permanent'),

    /**
     * `level` is the retry topic the failure happened on (0 for the event topics); `notBefore` pushes the due time
     * later (a claim held by another process is looked at again only after its lease).
     */
    async transient(failed: FailedDelivery, level: number, notBefore?: Date): Promise<Routed> {
      if (level >= delaysMs.length) return toDeadLetters(failed, 'exhausted');
      const due = Math.max(Date.now() + delaysMs[level]!, (notBefore?.getTime() ?? 0) + 1_000);
      const envelope: RetryEnvelope = {
        attempts: failed.attempts,
        dueAt: new Date(due),
        firstFailedAt: failed.firstFailedAt,
        ...(failed.record.ingestedAt && { ingestedAt: failed.record.ingestedAt }),
        lastErrorCode: failed.failure.code,
        original: {
          topic: failed.record.topic,
          partition: failed.record.partition,
          offset: failed.record.offset,
          key: failed.record.key,
        },
        ...(failed.userId && { userId: failed.userId }),
      };
      await producer.send({
        topic: retryTopic(channel, level + 1, prefix),
        acks: -1,
        messages: [{ key: failed.record.key, value: failed.record.value, headers: retryHeaders(envelope) }],
      });
      return 'retried';
    },
  };
}

export type FailureRouter = ReturnType<typeof createFailureRouter>;
