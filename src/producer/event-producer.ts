import type { Producer, RecordMetadata } from 'kafkajs';
import {
  assertEvent,
  partitionKeyOf,
  topicName,
  topicOf,
  type GatewayEvent,
  type GatewayEventInput,
} from '../events/index.js';
import type { Logger } from '../logger.js';
import { PublishError } from './errors.js';
import { createKafka } from '../kafka/client.js';
import { createIdempotentProducer } from '../kafka/producer.js';

/** Where an event was written. */
export interface PublishReceipt {
  eventId: string;
  topic: string;
  key: string;
  /** Known when the event was published on its own. */
  partition?: number;
  offset?: string;
}

export type PublishOutcome = { ok: true; receipts: PublishReceipt[] } | { ok: false; error: PublishError };

export interface RetryBudget {
  retries: number;
  initialRetryTime: number;
  maxRetryTime: number;
}

export interface EventProducerOptions {
  brokers: string[];
  clientId?: string;
  logger: Logger;
  /** Prepended to topic names (tests use a unique one). */
  topicPrefix?: string;
  /** How hard to try before reporting a failure; exponential with jitter (kafkajs' retrier). */
  retry?: Partial<RetryBudget>;
  /** Called with every failure that publishSafely swallows, e.g. to count it in metrics. */
  onFailure?: (error: PublishError) => void;
}

export interface EventProducer {
  /** Validates, fills eventId/eventTimestamp, and publishes; throws InvalidEventError or PublishError. */
  publish(event: GatewayEventInput): Promise<PublishReceipt>;
  /** The same for many events in one round trip per topic; all are validated before any is sent. */
  publishMany(events: GatewayEventInput[]): Promise<PublishReceipt[]>;
  /**
   * For booking flows that must not fail because notifications are down: never throws a PublishError, logs and
   * reports it instead. An invalid event still throws, since that is a bug in the caller.
   */
  publishSafely(events: GatewayEventInput | GatewayEventInput[]): Promise<PublishOutcome>;
  stop(): Promise<void>;
}

export const DEFAULT_RETRY: RetryBudget = { retries: 5, initialRetryTime: 300, maxRetryTime: 5000 };

export function createEventProducer(options: EventProducerOptions): EventProducer {
  const { brokers, clientId = 'event-producer', logger, topicPrefix = '', onFailure } = options;
  if (!brokers?.length) throw new TypeError('createEventProducer: brokers must list at least one broker');
  if (!logger) throw new TypeError('createEventProducer: logger is required');
  const retry = { ...DEFAULT_RETRY, ...options.retry };

  // A client of its own, so that the retry budget bounds connecting as well as sending: a publish never hangs.
  const kafka = createKafka({ brokers, clientId, logger, retry });
  const producer: Producer = createIdempotentProducer(kafka, { retry, allowAutoTopicCreation: false });
  let connecting: Promise<void> | undefined;
  const connect = () => {
    connecting ??= producer.connect().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    });
    return connecting;
  };

  async function send(events: GatewayEvent[]): Promise<PublishReceipt[]> {
    const byTopic = new Map<string, GatewayEvent[]>();
    for (const event of events) {
      const topic = topicName(topicOf(event), topicPrefix);
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), event]);
    }
    try {
      await connect();
      const metadata = await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, list]) => ({
          topic,
          messages: list.map((event) => ({
            key: partitionKeyOf(event),
            value: JSON.stringify(event),
            headers: { eventId: event.eventId, eventType: event.eventType },
          })),
        })),
      });
      return receipts(byTopic, metadata);
    } catch (cause) {
      const ids = events.map((e) => e.eventId);
      throw new PublishError(`Kafka did not accept ${ids.length} event(s): ${(cause as Error).message}`, ids, {
        cause,
      });
    }
  }

  async function publishSafely(input: GatewayEventInput | GatewayEventInput[]): Promise<PublishOutcome> {
    const events = (Array.isArray(input) ? input : [input]).map(assertEvent);
    try {
      return { ok: true, receipts: await send(events) };
    } catch (error) {
      if (!(error instanceof PublishError)) throw error;
      logger.error({ err: error, eventIds: error.eventIds }, 'event publish failed; the caller goes on without it');
      onFailure?.(error);
      return { ok: false, error };
    }
  }

  return {
    publish: async (event) => (await send([assertEvent(event)]))[0]!,
    publishMany: async (events) => (events.length === 0 ? [] : send(events.map(assertEvent))),
    publishSafely,
    stop: async () => {
      connecting = undefined;
      await producer.disconnect();
    },
  };
}

/** kafkajs reports one base offset per partition, so a receipt is exact only for an event sent on its own. */
function receipts(byTopic: Map<string, GatewayEvent[]>, metadata: RecordMetadata[]): PublishReceipt[] {
  return [...byTopic].flatMap(([topic, events]) => {
    const single = events.length === 1 ? metadata.find((m) => m.topicName === topic) : undefined;
    return events.map((event) => ({
      eventId: event.eventId,
      topic,
      key: partitionKeyOf(event),
      ...(single && { partition: single.partition, offset: single.baseOffset }),
    }));
  });
}
