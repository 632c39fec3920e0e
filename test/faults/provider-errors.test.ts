import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingConfirmed } from '../fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from '../helpers/full-gateway.js';
import { readRecords } from '../helpers/kafka.js';
import { waitFor } from '../helpers/wait-for.js';

/** Fault 3: Twilio refuses one number for good and fails twice for another. */
describe('fault: a permanent and a transient Twilio error', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway('fault-twilio');
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('dead-letters 21211 at once and delivers the other after its retries', async () => {
    // Possible for India (ten digits) but not a number India assigns: Twilio's 21211.
    const invalid = { userId: `inv-${randomBytes(3).toString('hex')}`, phone: '+915555555555' };
    const flaky = { userId: `flk-${randomBytes(3).toString('hex')}`, phone: uniquePhone() };
    gateway.sandbox.faults.set({ failNext: { count: 2, code: 20500, status: 500, to: flaky.phone } });

    const bad = await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: 'INVALID01',
        userId: invalid.userId,
        userPhone: invalid.phone,
        userEmail: uniqueEmail('inv'),
      }),
    );
    const good = await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: 'FLAKY0001',
        userId: flaky.userId,
        userPhone: flaky.phone,
        userEmail: uniqueEmail('flk'),
      }),
    );

    const dead = await waitFor('the 21211 dead letter', async () => {
      const { rows } = await gateway.pool.query(`SELECT * FROM dead_letters WHERE event_id = $1 AND channel = 'sms'`, [
        bad.eventId,
      ]);
      return rows[0];
    });
    expect(dead).toMatchObject({
      error_code: 'TWILIO_21211',
      error_class: 'permanent',
      user_id: invalid.userId,
      status: 'pending',
    });
    const [record] = await readRecords(
      gateway.worker.kafka,
      [`${gateway.config.KAFKA_TOPIC_PREFIX}notifications.sms.dlq`],
      1,
    );
    expect(record!.message.headers!['x-error-code']!.toString()).toBe('TWILIO_21211');
    expect(record!.message.headers!['x-original-topic']!.toString()).toBe(
      `${gateway.config.KAFKA_TOPIC_PREFIX}booking-confirmed`,
    );
    expect(record!.message.headers!['x-idempotency-key']!.toString()).toBe(`${bad.eventId}:sms:${invalid.userId}`);

    await waitFor('the flaky number’s SMS', () => gateway.sandbox.store.list((m) => m.to === flaky.phone).length === 1);
    const [delivery] = await gateway.deliveries.find({ eventId: good.eventId, channel: 'sms' });
    expect(delivery!.attempts).toBeGreaterThanOrEqual(1);
    expect(gateway.sandbox.store.list((m) => m.to === flaky.phone)).toHaveLength(1);
    const { rows } = await gateway.pool.query(`SELECT 1 FROM dead_letters WHERE event_id = $1`, [good.eventId]);
    expect(rows).toHaveLength(0);
    expect(gateway.worker.breakers.state('twilio')).toBe('closed');
  });

  it('a send that timed out while Twilio was still taking it is found by the retry, not sent twice', async () => {
    const traveller = { userId: `slow-${randomBytes(3).toString('hex')}`, phone: uniquePhone() };
    // Twilio answers the first create after 12 s, past the SDK's 10 s timeout, and stores the message only then.
    gateway.sandbox.faults.set({ latencyMs: 12_000 });
    const event = await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: 'SLOWTW001',
        userId: traveller.userId,
        userPhone: traveller.phone,
        userEmail: uniqueEmail('slow'),
      }),
    );
    try {
      await waitFor('the SMS on its way', async () => {
        const [delivery] = await gateway.deliveries.find({ eventId: event.eventId, channel: 'sms' });
        return delivery?.status === 'sending';
      });
      // The create is in Twilio's hands now; what comes after it is answered at once.
      await sleep(500);
    } finally {
      gateway.sandbox.faults.clear();
    }

    const sms = () => gateway.sandbox.store.list((m) => m.to === traveller.phone);
    await waitFor('the SMS stored by Twilio', () => sms().length >= 1, { timeoutMs: 20_000 });
    const delivery = await waitFor(
      'the SMS recorded sent',
      async () => {
        const [row] = await gateway.deliveries.find({ eventId: event.eventId, channel: 'sms' });
        return row?.providerId ? row : undefined;
      },
      { timeoutMs: 40_000 },
    );
    // The one copy Twilio took is the one the ledger names, found by the retry (its second attempt: the record was not
    // read again meanwhile), and no second copy followed.
    expect(sms()).toHaveLength(1);
    expect(delivery.providerId).toBe(sms()[0]!.sid);
    expect(delivery.attempts).toBe(2);
    await sleep(2_000);
    expect(sms()).toHaveLength(1);
  }, 90_000);
});
