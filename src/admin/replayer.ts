import type { Message, Producer } from 'kafkajs';
import { retryHeaders } from '../consumers/retry-record.js';
import { retryTopic } from '../kafka/names.js';
import type { DeadLetterEntry } from '../store/dead-letters.repository.js';
import { GatewayError } from '../errors/gateway-error.js';

/** An entry that cannot be sent again: it was discarded, or its record is gone (erased, or never had a value). */
export class NotReplayableError extends GatewayError<'NOT_REPLAYABLE'> {
  constructor(
    readonly entryId: number,
    readonly reason: string,
  ) {
    super(`dead letter ${entryId} cannot be replayed: ${reason}`, { code: 'NOT_REPLAYABLE', retriable: false });
    this.name = 'NotReplayableError';
  }
}

/** Where a replay went. */
export interface ReplayOutcome {
  topic: string;
  partition: number;
  offset: string | undefined;
  replayedAt: Date;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Why the entry cannot be replayed, or undefined when it can. */
export function replayBlocker(entry: Pick<DeadLetterEntry, 'status' | 'payload'>): string | undefined {
  if (entry.status === 'discarded') return 'it was discarded';
  if (entry.payload === null || entry.payload === undefined) return 'it holds no record';
  if (isObject(entry.payload) && entry.payload.erased === true) return 'its record was erased';
  return undefined;
}

/**
 * The record's value as it first arrived: a record that was not JSON was kept as `{ unparsed: text }` and goes back as
 * that text, so the consumer meets exactly what it refused (and refuses it again, unless the cause was fixed).
 */
function originalValue(payload: unknown): string {
  if (isObject(payload) && typeof payload.unparsed === 'string' && Object.keys(payload).length === 1)
    return payload.unparsed;
  return JSON.stringify(payload);
}

/** The Kafka record a replay of `entry` produces: the original key and value, a fresh retry envelope. */
export function replayRecord(entry: DeadLetterEntry, prefix = ''): { topic: string; message: Message } {
  const headers = retryHeaders({
    userId: entry.userId ?? undefined,
    // A replay is a fresh start: the retry ladder applies in full again.
    attempts: 0,
    dueAt: new Date(),
    firstFailedAt: entry.firstFailedAt,
    // As old as the notice it carries: a replay must not outrank a disruption taken in after it (an entry from before
    // the ingest time was kept counts from its first failure).
    ingestedAt: entry.original.ingestedAt ?? entry.firstFailedAt,
    lastErrorCode: entry.errorCode ?? undefined,
    // -1: an entry written by hand may not know its partition; nothing routes by it.
    original: {
      topic: entry.original.topic,
      partition: entry.original.partition ?? -1,
      offset: entry.original.offset ?? '',
      key: entry.original.key,
    },
    replayOf: String(entry.id),
  });
  if (entry.idempotencyKey) headers['x-idempotency-key'] = entry.idempotencyKey;
  return {
    topic: retryTopic(entry.channel, 1, prefix),
    message: { key: entry.original.key, value: originalValue(entry.payload), headers },
  };
}

export interface ReplayerOptions {
  producer: Producer;
  /** Topic prefix (tests run on their own). */
  prefix?: string;
  /** Called before every send: connects the producer and creates the retry topics the first time. */
  ready?: () => Promise<void>;
}

/**
 * Sends dead letters back to their channel's first retry topic. A replay can be repeated safely: the record keeps its
 * event id, so the idempotency key `<eventId>:<channel>:<userId>` is the same, and the delivery ledger's claim lets
 * only the first attempt that gets through reach the person.
 */
export function createReplayer({ producer, prefix = '', ready }: ReplayerOptions) {
  if (!producer) throw new TypeError('createReplayer: producer is required');
  return {
    async replay(entry: DeadLetterEntry): Promise<ReplayOutcome> {
      const blocker = replayBlocker(entry);
      if (blocker) throw new NotReplayableError(entry.id, blocker);
      await ready?.();
      const { topic, message } = replayRecord(entry, prefix);
      const [meta] = await producer.send({ topic, acks: -1, messages: [message] });
      return {
        topic,
        partition: meta?.partition ?? -1,
        offset: meta?.baseOffset ?? meta?.offset,
        replayedAt: new Date(),
      };
    },
  };
}

export type Replayer = ReturnType<typeof createReplayer>;
