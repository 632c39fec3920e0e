import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import type { GatewayEvent } from '../events/index.js';
import { assertEventQueues, type EventQueues } from './event-queues.js';
import { GatewayError } from '../errors/gateway-error.js';

/** RabbitMQ did not confirm an event: the HTTP caller gets 503 and should retry; nothing was accepted. */
export class QueueUnavailableError extends GatewayError<'QUEUE_UNAVAILABLE'> {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, { code: 'QUEUE_UNAVAILABLE', retriable: true, ...options });
    this.name = 'QueueUnavailableError';
  }
}

export interface EventQueuePublisher {
  /** Resolves once RabbitMQ has confirmed the persistent message; rejects with QueueUnavailableError otherwise. */
  publish(event: GatewayEvent): Promise<void>;
  isConnected(): boolean;
  close(): Promise<void>;
}

export function createEventQueuePublisher({
  connection,
  queues,
  confirmTimeoutMs = 5000,
}: {
  connection: AmqpConnectionManager;
  queues: EventQueues;
  confirmTimeoutMs?: number;
}): EventQueuePublisher {
  if (!connection) throw new TypeError('createEventQueuePublisher: connection is required');
  let closing = false;
  const channel: ChannelWrapper = connection.createChannel({
    name: 'event-intake',
    confirm: true,
    // Closed while its queues were still being declared (an api stopped just after it started): nothing to report.
    setup: (ch: ConfirmChannel) =>
      assertEventQueues(ch, queues).catch((error: unknown) => {
        if (!closing) throw error;
      }),
  });

  return {
    async publish(event) {
      // Never hold an accepted request in memory while the broker is away: fail now, the sender retries.
      if (!connection.isConnected()) throw new QueueUnavailableError('RabbitMQ is not connected');
      try {
        await channel.sendToQueue(queues.events, Buffer.from(JSON.stringify(event)), {
          persistent: true,
          contentType: 'application/json',
          messageId: event.eventId,
          type: event.eventType,
          timestamp: Math.floor(Date.now() / 1000),
          timeout: confirmTimeoutMs,
        });
      } catch (cause) {
        throw new QueueUnavailableError(`RabbitMQ did not confirm event ${event.eventId}`, { cause });
      }
    },
    isConnected: () => connection.isConnected(),
    close: () => {
      closing = true;
      return channel.close();
    },
  };
}
