import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseEvent, type EventIssue, type GatewayEvent } from '../events/index.js';
import type { Logger } from '../logger.js';
import type { EventProducer } from '../producer/event-producer.js';
import { assertEventQueues, type EventQueues } from '../queue/event-queues.js';
import { backoffDelay } from '../util/backoff.js';

/** A message taken from RabbitMQ, with the channel that must ack it. */
interface Delivery {
  channel: ConfirmChannel;
  message: ConsumeMessage;
  /**
   * Set once it is acked or requeued. RabbitMQ closes the whole channel on a second settlement of a tag
   * (PRECONDITION_FAILED - unknown delivery tag), dropping every other message in flight with it.
   */
  settled?: boolean;
}

export interface EventBridgeOptions {
  connection: AmqpConnectionManager;
  queues: EventQueues;
  producer: EventProducer;
  logger: Logger;
  /** Unacked messages RabbitMQ may hand over at once: bounds memory and the work redone after a crash. */
  prefetch?: number;
  /** Events sent to Kafka in one request. */
  batchSize?: number;
  /** How long a partial batch waits for company before it is sent. */
  lingerMs?: number;
}

export interface EventBridge {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Moves accepted events from the RabbitMQ queue into Kafka. A message is acked only after Kafka acked it (or, when it
 * cannot be parsed or validated, after events.dlq confirmed it with the reason). While Kafka is down, messages are
 * requeued with growing delays and wait in RabbitMQ. Order is kept: batches go one at a time, and a failed batch is
 * requeued together with everything received after it.
 */
export function createEventBridge(options: EventBridgeOptions): EventBridge {
  const { connection, queues, producer, prefetch = 500, batchSize = 200, lingerMs = 5 } = options;
  if (!connection || !queues || !producer || !options.logger) {
    throw new TypeError('createEventBridge: connection, queues, producer and logger are required');
  }
  const logger = options.logger.child({ component: 'event-bridge' });
  let buffer: Delivery[] = [];
  let draining: Promise<void> | undefined;
  let lingerTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  let channel: ChannelWrapper | undefined;

  const kick = () => {
    // A message that arrived while the last drain was finishing is picked up by the re-check, never stranded.
    draining ??= drain().finally(() => {
      draining = undefined;
      if (buffer.length > 0) schedule();
    });
  };
  const schedule = () => {
    if (buffer.length >= batchSize) kick();
    lingerTimer ??= setTimeout(() => {
      lingerTimer = undefined;
      kick();
    }, lingerMs);
  };

  async function drain(): Promise<void> {
    while (buffer.length > 0) {
      const batch = buffer.splice(0, batchSize);
      if (await forward(batch)) {
        failures = 0;
        continue;
      }
      const delay = backoffDelay(failures++, { baseMs: 250, maxMs: 15_000 });
      logger.warn({ delayMs: delay, messages: batch.length }, 'kafka unavailable; requeueing after a delay');
      await sleep(delay);
      // Whatever arrived meanwhile goes back too, after the failed batch, so no event overtakes an earlier one. A
      // message of the batch that was already dead-lettered (and acked) is not settled again.
      for (const delivery of [...batch, ...buffer.splice(0)]) settle(delivery, 'requeue');
    }
  }

  /** Sends one batch; true when every message in it is settled (in Kafka or dead-lettered) and acked. */
  async function forward(batch: Delivery[]): Promise<boolean> {
    const valid: Array<Delivery & { event: GatewayEvent }> = [];
    try {
      for (const delivery of batch) {
        const result = parse(delivery.message);
        if (result.ok) valid.push({ ...delivery, event: result.event });
        else await deadLetter(delivery, result.code, result.issues);
      }
      if (valid.length > 0) await producer.publishMany(valid.map((d) => d.event));
    } catch (error) {
      logger.debug({ err: error }, 'batch not forwarded');
      return false;
    }
    for (const delivery of valid) settle(delivery, 'ack');
    return true;
  }

  async function deadLetter(delivery: Delivery, code: string, issues: EventIssue[]): Promise<void> {
    const { channel: ch, message } = delivery;
    const reason = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
    await new Promise<void>((resolve, reject) =>
      ch.sendToQueue(
        queues.deadLetters,
        message.content,
        {
          persistent: true,
          contentType: message.properties.contentType,
          messageId: message.properties.messageId,
          headers: {
            ...message.properties.headers,
            'x-error-code': code,
            'x-error-reason': reason,
            'x-failed-at': new Date().toISOString(),
          },
        },
        (error) => (error ? reject(error) : resolve()),
      ),
    );
    settle(delivery, 'ack');
    logger.warn({ code, reason, messageId: message.properties.messageId }, 'event dead-lettered');
  }

  /**
   * Acks or requeues on the channel that delivered, once per message whatever path gets there first; after a
   * reconnect that channel is gone and RabbitMQ redelivers.
   */
  function settle(delivery: Delivery, how: 'ack' | 'requeue') {
    if (delivery.settled) return;
    delivery.settled = true;
    const { channel: ch, message } = delivery;
    try {
      if (how === 'ack') ch.ack(message);
      else ch.nack(message, false, true);
    } catch (error) {
      logger.debug({ err: error }, 'channel closed before settling; the broker will redeliver');
    }
  }

  return {
    async start() {
      channel = connection.createChannel({
        name: 'event-bridge',
        confirm: true,
        setup: async (ch: ConfirmChannel) => {
          await assertEventQueues(ch, queues);
          await ch.prefetch(prefetch);
          await ch.consume(queues.events, (message) => {
            if (!message) return;
            buffer.push({ channel: ch, message });
            schedule();
          });
        },
      });
      await channel.waitForConnect();
      logger.info({ queue: queues.events, prefetch }, 'bridge consuming');
    },
    async stop() {
      clearTimeout(lingerTimer);
      await channel?.close();
      await draining;
      buffer = [];
    },
  };
}

type ParseOutcome = { ok: true; event: GatewayEvent } | { ok: false; code: string; issues: EventIssue[] };

function parse(message: ConsumeMessage): ParseOutcome {
  let body: unknown;
  try {
    body = JSON.parse(message.content.toString('utf8'));
  } catch (error) {
    return { ok: false, code: 'NOT_JSON', issues: [{ path: '', message: `not JSON: ${(error as Error).message}` }] };
  }
  const result = parseEvent(body);
  return result.ok ? result : { ok: false, code: 'EVENT_INVALID', issues: result.issues };
}
