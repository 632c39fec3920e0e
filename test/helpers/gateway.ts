import amqp from 'amqplib';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../src/config.js';
import { createEventBridge, type EventBridge } from '../../src/consumers/event-bridge.js';
import { createEventProducer, type EventProducer } from '../../src/producer/event-producer.js';
import { connectAmqp } from '../../src/queue/amqp.js';
import { eventQueues, type EventQueues } from '../../src/queue/event-queues.js';
import { composeApi } from '../../src/roles/api.role.js';
import { testLogger } from './kafka.js';
import { waitFor } from './wait-for.js';

/** The api and bridge roles in this process, on the test's own queues and topics. */
export interface IngestHarness {
  app: FastifyInstance;
  queues: EventQueues;
  bridge: EventBridge;
  close(): Promise<void>;
}

export async function startIngest(config: Config, { withBridge = true } = {}): Promise<IngestHarness> {
  const queues = eventQueues(config.AMQP_QUEUE_PREFIX);
  const api = await composeApi(config, testLogger, { name: 'test-api' });
  await waitFor('the api connected to RabbitMQ', () => api.eventQueue.isConnected());

  const bridgeConnection = connectAmqp(config.AMQP_URL, { logger: testLogger, name: 'test-bridge' });
  const producer: EventProducer = createEventProducer({
    brokers: config.KAFKA_BROKERS,
    logger: testLogger,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
  });
  const bridge = createEventBridge({ connection: bridgeConnection, queues, producer, logger: testLogger });
  if (withBridge) await bridge.start();

  return {
    app: api.app,
    queues,
    bridge,
    async close() {
      await bridge.stop();
      await producer.stop();
      await Promise.all([api.close(), bridgeConnection.close()]);
      await deleteQueues(config.AMQP_URL, queues);
    },
  };
}

export async function deleteQueues(url: string, queues: EventQueues): Promise<void> {
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  await channel.deleteQueue(queues.events);
  await channel.deleteQueue(queues.deadLetters);
  await connection.close();
}

/** Messages ready in a queue (not counting those a consumer holds unacked). */
export async function queueDepth(url: string, queue: string): Promise<number> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await connection.close();
  }
}

export const INGEST_HEADERS = { 'x-api-key': 'dev-ingest-key', 'content-type': 'application/json' };
