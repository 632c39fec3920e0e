import amqp from 'amqplib';
import { Writable } from 'node:stream';
import type { Kafka } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { createEventBridge, type EventBridge } from '../src/consumers/event-bridge.js';
import { createKafka } from '../src/kafka/client.js';
import { createEventProducer, type EventProducer } from '../src/producer/event-producer.js';
import { ensureTopics } from '../src/kafka/topics.js';
import { connectAmqp } from '../src/queue/amqp.js';
import { eventQueues, type EventQueues } from '../src/queue/event-queues.js';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import { bookingConfirmed } from './fixtures/events.js';
import { deleteQueues, queueDepth } from './helpers/gateway.js';
import { readRecords, testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * A batch holding a dead-lettered message (acked at once) and a good one Kafka refuses: the bridge must requeue only
 * the good one. Nacking the acked tag too makes RabbitMQ close the channel (PRECONDITION_FAILED - unknown delivery
 * tag), and the bridge stops consuming until the whole connection is re-made.
 */
describe('the bridge settles each RabbitMQ delivery exactly once', () => {
  let config: Config;
  let queues: EventQueues;
  let kafka: Kafka;
  let connection: AmqpConnectionManager;
  let producer: EventProducer;
  let bridge: EventBridge;
  const logs: string[] = [];
  const connectionErrors: string[] = [];

  beforeAll(async () => {
    config = testConfig(uniquePrefix('bridge-acks'));
    queues = eventQueues(config.AMQP_QUEUE_PREFIX);
    kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'test-bridge-acks', logger: testLogger });
    // Everything the bridge logs, down to debug, so a channel error cannot pass unseen.
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    });
    const logger = pino({ level: 'debug' }, sink);
    connection = connectAmqp(config.AMQP_URL, { logger, name: 'test-bridge-acks' });
    connection.on('disconnect', ({ err }) => connectionErrors.push(String(err)));
    // The event topics do not exist yet: the first batch fails in Kafka, for real.
    producer = createEventProducer({
      brokers: config.KAFKA_BROKERS,
      logger,
      topicPrefix: config.KAFKA_TOPIC_PREFIX,
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 200 },
    });
    bridge = createEventBridge({ connection, queues, producer, logger, lingerMs: 200 });
  });
  afterAll(async () => {
    await bridge?.stop();
    await producer?.stop();
    await connection?.close();
    await deleteQueues(config.AMQP_URL, queues);
  });

  it('requeues only what it has not settled, and keeps consuming after Kafka comes back', async () => {
    const raw = await amqp.connect(config.AMQP_URL);
    const channel = await raw.createConfirmChannel();
    await channel.assertQueue(queues.events, { durable: true });
    await channel.assertQueue(queues.deadLetters, { durable: true });
    const first = bookingConfirmed({ pnrNumber: 'ACKS000001' });
    // Both wait in the queue before the bridge starts, so they arrive together in one batch.
    channel.sendToQueue(queues.events, Buffer.from('{not json'), { persistent: true, messageId: 'garbage-acks' });
    channel.sendToQueue(queues.events, Buffer.from(JSON.stringify(first)), {
      persistent: true,
      messageId: first.eventId as string,
    });
    await channel.waitForConfirms();
    await bridge.start();

    await waitFor(
      'the garbage dead-lettered',
      async () => (await queueDepth(config.AMQP_URL, queues.deadLetters)) === 1,
    );
    await waitFor('the first batch refused by Kafka', () => logs.some((l) => l.includes('kafka unavailable')), {
      timeoutMs: 30_000,
    });
    // Creating topics can meet a broker still catching up on their metadata: asked again until it holds.
    await waitFor(
      'the topics created',
      async () => (await ensureTopics(kafka, { prefix: config.KAFKA_TOPIC_PREFIX, partitions: 3 }), true),
    );

    const later = bookingConfirmed({ pnrNumber: 'ACKS000002' });
    channel.sendToQueue(queues.events, Buffer.from(JSON.stringify(later)), {
      persistent: true,
      messageId: later.eventId as string,
    });
    await channel.waitForConfirms();
    const records = await readRecords(kafka, [`${config.KAFKA_TOPIC_PREFIX}booking-confirmed`], 2, 45_000);
    expect(records.map((r) => r.value.eventId).sort()).toEqual([first.eventId, later.eventId].sort());
    await waitFor('the queue drained', async () => (await queueDepth(config.AMQP_URL, queues.events)) === 0);

    expect(await queueDepth(config.AMQP_URL, queues.deadLetters)).toBe(1); // dead-lettered once, not again
    expect([...logs, ...connectionErrors].filter((l) => /PRECONDITION_FAILED|unknown delivery tag/i.test(l))).toEqual(
      [],
    );
    expect(connectionErrors).toEqual([]);
    await raw.close();
  });
});
