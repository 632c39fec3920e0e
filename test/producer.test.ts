import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { InvalidEventError } from '../src/events/index.js';
import { PublishError } from '../src/producer/errors.js';
import { createEventProducer, type EventProducer } from '../src/producer/event-producer.js';
import { startKafka, stopKafka } from '../scripts/stack/kafka.js';
import { bookingConfirmed, flightDelay } from './fixtures/events.js';
import { readRecords, testConfig, testKafka, testLogger, uniquePrefix } from './helpers/kafka.js';
import { waitFor } from './helpers/wait-for.js';

const run = promisify(execFile);

describe('event producer', () => {
  let config: Config;
  let kafka: Kafka;
  let producer: EventProducer;

  beforeAll(async () => {
    config = testConfig(uniquePrefix('producer'));
    kafka = await testKafka(config);
    producer = createEventProducer({
      brokers: config.KAFKA_BROKERS,
      logger: testLogger,
      topicPrefix: config.KAFKA_TOPIC_PREFIX,
    });
  });
  afterAll(async () => {
    await producer?.stop();
  });

  it('publishes 1,000 booking events over many PNRs and they read back in per-PNR order', async () => {
    const pnrs = Array.from({ length: 40 }, (_, i) => `PNR${String(i).padStart(4, '0')}`);
    const events = Array.from({ length: 1000 }, (_, seq) =>
      bookingConfirmed({ eventId: undefined, pnrNumber: pnrs[seq % pnrs.length], seq }),
    );
    for (let i = 0; i < events.length; i += 250) await producer.publishMany(events.slice(i, i + 250));

    const topic = `${config.KAFKA_TOPIC_PREFIX}booking-confirmed`;
    const records = await readRecords(kafka, [topic], 1000);
    expect(records).toHaveLength(1000);
    expect(new Set(records.map((r) => r.value.eventId)).size).toBe(1000);

    const seqByPnr = new Map<string, number[]>();
    for (const record of records) {
      expect(record.key).toBe(record.value.pnrNumber);
      seqByPnr.set(record.key, [...(seqByPnr.get(record.key) ?? []), record.value.seq as number]);
    }
    expect(seqByPnr.size).toBe(pnrs.length);
    for (const seqs of seqByPnr.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    // The three partitions all carry traffic: keys spread, they do not pile onto one.
    expect(new Set(records.map((r) => r.partition)).size).toBe(3);
  });

  it('keys a disruption on its flight number and reports where a single event landed', async () => {
    const receipt = await producer.publish(flightDelay());
    expect(receipt).toMatchObject({ topic: `${config.KAFKA_TOPIC_PREFIX}travel-disruption`, key: 'W2121' });
    expect(receipt.partition).toBeGreaterThanOrEqual(0);
    const [record] = await readRecords(kafka, [receipt.topic], 1);
    expect(record!.value).toMatchObject({
      eventId: receipt.eventId,
      disruptionType: 'FLIGHT_DELAY',
      flightNumber: 'W2121',
    });
  });

  it('refuses an invalid event before sending anything, naming the field', async () => {
    await expect(producer.publish(bookingConfirmed({ pnrNumber: undefined }))).rejects.toThrow(InvalidEventError);
    await expect(producer.publishSafely(bookingConfirmed({ userEmail: 'nope' }))).rejects.toThrow(/userEmail/);
  });

  it('publishes with the CLI from a file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'produce-'));
    const file = path.join(dir, 'events.json');
    const { eventType: _t, ...withoutType } = bookingConfirmed({ pnrNumber: 'CLI0001' }) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify([withoutType, bookingConfirmed({ pnrNumber: 'CLI0002' })]));
    const env = { ...process.env, KAFKA_TOPIC_PREFIX: config.KAFKA_TOPIC_PREFIX };
    const { stdout } = await run('npx', ['tsx', 'scripts/produce.ts', 'booking-cancelled', file], { env }).catch(
      (e) => e,
    );
    // The second event says it is a confirmation: it does not belong on booking-cancelled, and nothing is sent.
    expect(stdout ?? '').not.toContain('published');
    writeFileSync(file, JSON.stringify([withoutType]));
    const ok = await run('npx', ['tsx', 'scripts/produce.ts', 'booking-cancelled', file], { env });
    expect(ok.stdout).toMatch(/published .* to .*booking-cancelled \(key CLI0001\)/);
    const records = await readRecords(kafka, [`${config.KAFKA_TOPIC_PREFIX}booking-cancelled`], 1);
    expect(records.map((r) => [r.key, r.value.eventType])).toEqual([['CLI0001', 'BOOKING_CANCELLED']]);
  });

  describe('with the broker stopped', () => {
    afterAll(async () => {
      await startKafka(config.KAFKA_BROKERS[0]!, () => {});
    });

    it('reports the failure within its retry budget, and a safe publish never throws it', async () => {
      const failures: PublishError[] = [];
      const budget = { retries: 2, initialRetryTime: 100, maxRetryTime: 400 };
      const fragile = createEventProducer({
        brokers: config.KAFKA_BROKERS,
        logger: testLogger,
        topicPrefix: config.KAFKA_TOPIC_PREFIX,
        retry: budget,
        onFailure: (error) => failures.push(error),
      });
      await fragile.publish(bookingConfirmed({ pnrNumber: 'UP000001' }));
      await stopKafka();

      // Bounded, not timed: a publish that hung would hit this deadline instead of rejecting.
      const hang = new Promise((_, reject) => setTimeout(() => reject(new Error('publish hung')), 45_000));
      const failed = bookingConfirmed({ pnrNumber: 'DOWN0001' });
      const started = Date.now();
      await expect(Promise.race([fragile.publish(failed), hang])).rejects.toBeInstanceOf(PublishError);
      testLogger.info({ ms: Date.now() - started }, 'publish with the broker down failed');

      const outcome = await Promise.race([fragile.publishSafely(bookingConfirmed({ pnrNumber: 'DOWN0002' })), hang]);
      expect(outcome).toMatchObject({ ok: false, error: { code: 'PUBLISH_FAILED', retriable: true } });
      expect(failures).toHaveLength(1);
      expect(failures[0]!.eventIds).toHaveLength(1);

      await startKafka(config.KAFKA_BROKERS[0]!, () => {});
      // The same producer recovers once the broker is back; partition leaders may take a moment after it answers.
      const receipt = await waitFor(
        'a publish after the restart',
        () => fragile.publish(bookingConfirmed({ pnrNumber: 'BACK0001' })),
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      expect(receipt.key).toBe('BACK0001');
      await fragile.stop();
    });
  });
});
