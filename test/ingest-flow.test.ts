import { execFileSync } from 'node:child_process';
import amqp from 'amqplib';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { startKafka, stopKafka } from '../scripts/stack/kafka.js';
import { bookingConfirmed } from './fixtures/events.js';
import { INGEST_HEADERS, queueDepth, startIngest, type IngestHarness } from './helpers/gateway.js';
import { readRecords, testConfig, testKafka, testLogger, uniquePrefix } from './helpers/kafka.js';
import { waitFor } from './helpers/wait-for.js';

const SEED_EXAMPLE = { type: 'FLIGHT_DELAY', flightNumber: 'W2121', payload: { minutes: 90, reason: 'weather' } };

/** Sum of the high watermarks of a topic's partitions: how many records it holds, duplicates included. */
async function recordCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('POST /events → RabbitMQ → bridge → Kafka', () => {
  let config: Config;
  let kafka: Kafka;
  let gateway: IngestHarness;

  beforeAll(async () => {
    config = testConfig(uniquePrefix('ingest'));
    kafka = await testKafka(config);
    gateway = await startIngest(config);
  });
  afterAll(async () => {
    await gateway?.close();
  });

  const post = (body: unknown) =>
    gateway.app.inject({ method: 'POST', url: '/events', headers: INGEST_HEADERS, payload: JSON.stringify(body) });

  it("accepts the partners' seed example and puts the normalised event on travel-disruption, keyed W2121", async () => {
    const response = await post(SEED_EXAMPLE);
    expect(response.statusCode).toBe(202);
    const { eventId } = response.json<{ eventId: string }>();

    const [record] = await readRecords(kafka, [`${config.KAFKA_TOPIC_PREFIX}travel-disruption`], 1);
    expect(record!.key).toBe('W2121');
    expect(record!.value).toMatchObject({
      eventId,
      eventType: 'TRAVEL_DISRUPTION',
      disruptionType: 'FLIGHT_DELAY',
      flightNumber: 'W2121',
      payload: { minutes: 90, reason: 'weather' },
      schemaVersion: 1,
    });
    expect(record!.value).not.toHaveProperty('type');
  });

  it('dead-letters a queued message it cannot parse, with the reason, and goes on', async () => {
    const connection = await amqp.connect(config.AMQP_URL);
    const channel = await connection.createConfirmChannel();
    channel.sendToQueue(gateway.queues.events, Buffer.from('{not json'), { persistent: true, messageId: 'garbage-1' });
    channel.sendToQueue(gateway.queues.events, Buffer.from(JSON.stringify({ eventType: 'BOOKING_CONFIRMED' })), {
      persistent: true,
      messageId: 'invalid-1',
    });
    await channel.waitForConfirms();
    const good = await post(bookingConfirmed({ pnrNumber: 'AFTERDLQ1' }));
    expect(good.statusCode).toBe(202);

    const dead = await waitFor('two dead letters', async () => {
      const messages = [];
      for (let m = await channel.get(gateway.queues.deadLetters); m; m = await channel.get(gateway.queues.deadLetters))
        messages.push(m);
      return messages.length ? messages : undefined;
    });
    const more = await waitFor(
      'the second dead letter',
      async () => (await channel.get(gateway.queues.deadLetters)) || undefined,
    ).catch(() => undefined);
    const all = more ? [...dead, more] : dead;
    const byId = Object.fromEntries(all.map((m) => [m.properties.messageId as string, m.properties.headers!]));
    expect(byId['garbage-1']).toMatchObject({ 'x-error-code': 'NOT_JSON' });
    expect(byId['invalid-1']).toMatchObject({ 'x-error-code': 'EVENT_INVALID' });
    expect(String(byId['invalid-1']!['x-error-reason'])).toMatch(/pnrNumber/);
    await connection.close();

    const records = await readRecords(kafka, [`${config.KAFKA_TOPIC_PREFIX}booking-confirmed`], 1);
    expect(records.map((r) => r.key)).toEqual(['AFTERDLQ1']);
  });

  it('keeps every event accepted while Kafka is down, and delivers each exactly once when it returns', async () => {
    const topic = `${config.KAFKA_TOPIC_PREFIX}booking-cancelled`;
    await stopKafka();
    try {
      const answers = await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          post(bookingConfirmed({ eventType: 'BOOKING_CANCELLED', pnrNumber: `DOWN${String(i).padStart(5, '0')}` })),
        ),
      );
      expect(answers.map((a) => a.statusCode)).toEqual(Array(500).fill(202));
      const accepted = new Set(answers.map((a) => a.json<{ eventId: string }>().eventId));
      expect(accepted.size).toBe(500);
      expect(await recordCount(kafka, topic).catch(() => 0)).toBe(0);

      await startKafka(config.KAFKA_BROKERS[0]!, () => {});
      const records = await readRecords(kafka, [topic], 500, 120_000);
      await waitFor(
        'the events queue to drain',
        async () => (await queueDepth(config.AMQP_URL, gateway.queues.events)) === 0,
        { timeoutMs: 60_000 },
      );
      const ids = records.map((r) => r.value.eventId as string);
      expect(new Set(ids)).toEqual(accepted);
      expect(await recordCount(kafka, topic)).toBe(500);
    } finally {
      await startKafka(config.KAFKA_BROKERS[0]!, () => {});
    }
  });

  it('answers 503 with Retry-After while RabbitMQ is stopped, and 202 again once it is back, without a restart', async () => {
    execFileSync('rabbitmqctl', ['stop_app'], { stdio: 'ignore' });
    try {
      await waitFor(
        'the api to notice RabbitMQ is gone',
        async () => (await gateway.app.inject({ url: '/readyz' })).statusCode === 503,
      );
      const refused = await post(bookingConfirmed({ pnrNumber: 'RMQDOWN1' }));
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe('5');
      expect(refused.json()).toMatchObject({ error: 'unavailable' });
    } finally {
      execFileSync('rabbitmqctl', ['start_app'], { stdio: 'ignore' });
    }
    const accepted = await waitFor(
      'a 202 after RabbitMQ returned',
      async () => {
        const response = await post(bookingConfirmed({ pnrNumber: 'RMQBACK1' }));
        return response.statusCode === 202 ? response : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const { eventId } = accepted.json<{ eventId: string }>();
    // The bridge reconnected too: the event reaches Kafka.
    const records = await readRecords(kafka, [`${config.KAFKA_TOPIC_PREFIX}booking-confirmed`], 2);
    expect(records.map((r) => r.value.eventId)).toContain(eventId);
    testLogger.debug('rabbitmq restart survived');
  });
});
