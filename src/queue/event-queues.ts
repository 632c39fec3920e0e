import type { Channel } from 'amqplib';

/** RabbitMQ queues between `POST /events` and the bridge to Kafka. */
export interface EventQueues {
  /** Accepted events waiting for the bridge. */
  events: string;
  /** Messages the bridge could not parse or validate, with the reason in their headers. */
  deadLetters: string;
}

export function eventQueues(prefix = ''): EventQueues {
  return { events: `${prefix}events`, deadLetters: `${prefix}events.dlq` };
}

/** Declares both queues durable; every process that touches them declares them the same way. */
export async function assertEventQueues(channel: Channel, queues: EventQueues): Promise<void> {
  await channel.assertQueue(queues.events, { durable: true });
  await channel.assertQueue(queues.deadLetters, { durable: true });
}
