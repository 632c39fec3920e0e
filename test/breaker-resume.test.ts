import { randomBytes } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicName } from '../src/events/index.js';
import { bookingConfirmed } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * A channel must not stall after an outage. A group pauses once the records in flight are done, and resumes when its
 * breaker half-opens or closes; with slow sends, the breaker can half-open and close again while those records are
 * still in flight, before the group has paused, and no later change comes to resume it.
 */
describe('a channel after an outage', () => {
  let gateway: Gateway;
  let producer: Producer;
  beforeAll(async () => {
    // One partition, so that every booking is in one batch; Twilio takes eight requests at a time.
    gateway = await startGateway('resume', {
      env: { BREAKER_RESET_MS: '300', WORKER_CHANNELS: 'sms', TWILIO_MAX_IN_FLIGHT: '8', KAFKA_TOPIC_PARTITIONS: '1' },
    });
    producer = gateway.worker.kafka.producer();
    await producer.connect();
  });
  afterAll(async () => {
    gateway?.sandbox.faults.clear();
    await producer?.disconnect();
    await gateway?.close();
  });

  it('resumes when its breaker half-opened and closed while sends were still in flight, and delivers every SMS once', async () => {
    const travellers = Array.from({ length: 12 }, (_, i) => ({
      userId: `resume-${randomBytes(3).toString('hex')}-${i}`,
      phone: uniquePhone(),
      pnr: `RESUME${String(i).padStart(4, '0')}`,
    }));
    // Twilio answers after a second; the first eight numbers are refused once (503). Those eight fail together, over half the
    // sends so far, and the breaker opens; the other four are then in flight, the breaker half-opens 300 ms later,
    // and their success closes it, all before the group has paused for the eight that met the open breaker.
    gateway.sandbox.faults.set({ latencyMs: 1_000 });
    for (const t of travellers.slice(0, 8))
      gateway.sandbox.faults.set({ failNext: { count: 1, code: 20503, status: 503, to: t.phone } });
    await producer.send({
      topic: topicName('booking-confirmed', gateway.config.KAFKA_TOPIC_PREFIX),
      messages: travellers.map((t) => ({
        key: t.pnr,
        value: JSON.stringify(
          bookingConfirmed({
            pnrNumber: t.pnr,
            userId: t.userId,
            userPhone: t.phone,
            userEmail: uniqueEmail('resume'),
          }),
        ),
      })),
    });

    await waitFor('the breaker to open', () => gateway.worker.breakers.state('twilio') !== 'closed', {
      timeoutMs: 20_000,
    });
    await waitFor(
      'every SMS, once the outage is over',
      () => travellers.every((t) => gateway.sandbox.store.list((m) => m.to === t.phone).length >= 1),
      { timeoutMs: 30_000 },
    );
    gateway.sandbox.faults.clear();
    expect(travellers.map((t) => gateway.sandbox.store.list((m) => m.to === t.phone).length)).toEqual(
      travellers.map(() => 1),
    );
  });
});
