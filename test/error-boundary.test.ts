import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { parseEvent, topicName, type EventType } from '../src/events/index.js';
import { retryTopic } from '../src/kafka/names.js';
import { bookingConfirmed } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { readRecords } from './helpers/kafka.js';
import { emailsTo } from './helpers/maildev.js';
import { waitFor } from './helpers/wait-for.js';

const CHANNELS = ['email', 'sms', 'whatsapp', 'websocket'] as const;

/**
 * No record can stop or loop a consumer group: whatever comes in from Kafka, a record that cannot be handled or
 * stored is dead-lettered with its reason, and the group goes on to the next.
 */
describe('every consumer group has one error boundary', () => {
  let gateway: Gateway;
  let producer: Producer;
  beforeAll(async () => {
    gateway = await startGateway('boundary', { env: { RETRY_DELAYS_MS: '200,400' } });
    producer = gateway.worker.kafka.producer();
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await gateway?.close();
  });

  /** A booking for a traveller of the test's own; resolves once it has reached them on all four channels. */
  async function normalBookingArrives(pnr: string, extra: Record<string, unknown> = {}) {
    const userId = `normal-${randomBytes(3).toString('hex')}`;
    const email = uniqueEmail('normal');
    const phone = uniquePhone();
    const booking = await gateway.producer.publish(
      bookingConfirmed({ eventId: undefined, pnrNumber: pnr, userId, userEmail: email, userPhone: phone, ...extra }),
    );
    await waitFor(`the email of ${pnr}`, async () => (await emailsTo(email)).some((m) => m.subject.includes(pnr)), {
      timeoutMs: 60_000,
    });
    await waitFor(
      `the SMS of ${pnr}`,
      () => gateway.sandbox.store.list((m) => m.to === phone && m.body.includes(pnr)).length === 1,
      { timeoutMs: 60_000 },
    );
    await waitFor(
      `the WhatsApp of ${pnr}`,
      () => gateway.sandbox.store.list((m) => m.to === `whatsapp:${phone}` && m.body.includes(pnr)).length === 1,
      { timeoutMs: 60_000 },
    );
    await waitFor(
      `the alert of ${pnr}`,
      async () =>
        (await gateway.deliveries.find({ eventId: booking.eventId, channel: 'websocket' }))[0]?.status === 'delivered',
      { timeoutMs: 60_000 },
    );
    return { userId, booking };
  }

  it('a record the ledger cannot store is dead-lettered with the database’s reason, and the bookings after it go out', async () => {
    // A constraint stands in for a value PostgreSQL refuses: every write of a delivery for this user id fails.
    const poisoned = `unstorable-${randomBytes(3).toString('hex')}`;
    await gateway.pool.query(
      `ALTER TABLE deliveries ADD CONSTRAINT refuse_${poisoned.replace(/-/g, '_')} CHECK (user_id <> '${poisoned}') NOT VALID`,
    );
    const bad = await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: 'BOUNDARY1',
        userId: poisoned,
        userEmail: uniqueEmail('bad'),
        userPhone: uniquePhone(),
      }),
    );
    // The same PNR, so the same partition and key: it can only go out once the bad record is out of the way.
    await normalBookingArrives('BOUNDARY1');

    const letters = await waitFor(
      'a dead letter per channel',
      async () => {
        const { rows } = await gateway.pool.query<{ channel: string; error_code: string; error_message: string }>(
          `SELECT channel, error_code, error_message FROM dead_letters WHERE event_id = $1 ORDER BY channel`,
          [bad.eventId],
        );
        return rows.length === 4 ? rows : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(letters.map((l) => l.channel)).toEqual([...CHANNELS].sort());
    for (const letter of letters) {
      expect(letter.error_code).toBe('UNHANDLED');
      expect(letter.error_message).toMatch(/23514|check constraint/);
    }
  });

  it('a booking the itinerary projection cannot store goes to its dead-letter topic, and later bookings are projected', async () => {
    const poisoned = `unprojectable-${randomBytes(3).toString('hex')}`;
    await gateway.pool.query(
      `ALTER TABLE itineraries ADD CONSTRAINT refuse_${poisoned.replace(/-/g, '_')} CHECK (user_id <> '${poisoned}') NOT VALID`,
    );
    await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: 'PROJECT01',
        userId: poisoned,
        trainNumber: '22691',
        userEmail: uniqueEmail('bad'),
        userPhone: uniquePhone(),
      }),
    );
    const { userId } = await normalBookingArrives('PROJECT01', { trainNumber: '22691' });
    await waitFor(
      'the later booking projected',
      async () => (await gateway.pool.query(`SELECT 1 FROM itineraries WHERE user_id = $1`, [userId])).rowCount === 1,
    );

    const [letter] = await readRecords(
      gateway.worker.kafka,
      [`${gateway.config.KAFKA_TOPIC_PREFIX}itinerary-projection.dlq`],
      1,
    );
    expect(letter!.message.headers!['x-error-code']!.toString()).toBe('UNSTORABLE');
    expect(letter!.message.headers!['x-error-message']!.toString()).toMatch(/23514|check constraint/);
    expect(JSON.parse(letter!.message.value!.toString()).userId).toBe(poisoned);
  });

  it('a dead letter whose write failed is written when the write succeeds again: never lost', async () => {
    // Possible for India but not a number it assigns: Twilio refuses it for good (21211), so the SMS is dead-lettered.
    const userId = `dlq-write-${randomBytes(3).toString('hex')}`;
    // The index write times out for a while (a trigger raises what a statement timeout raises), as in an overloaded database.
    // It counts its refusals in a sequence, which the rollback of the refused write leaves counted.
    await gateway.pool.query(`CREATE SEQUENCE refusals_for_now`);
    await gateway.pool.query(`CREATE FUNCTION refuse_for_now() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM nextval('refusals_for_now');
        RAISE EXCEPTION 'canceling statement due to statement timeout' USING ERRCODE = '57014';
      END $$`);
    await gateway.pool.query(
      `CREATE TRIGGER refuse_for_now BEFORE INSERT ON dead_letters FOR EACH ROW WHEN (NEW.user_id = '${userId}') EXECUTE FUNCTION refuse_for_now()`,
    );
    const bad = await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: 'DLQWRITE1',
        userId,
        userEmail: uniqueEmail('dlqw'),
        userPhone: '+915555555555',
      }),
    );
    await waitFor(
      'the refused SMS',
      async () => {
        const { rows } = await gateway.pool.query(
          `SELECT 1 FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_id = $1 AND d.channel = 'sms' AND a.error_code = 'TWILIO_21211'`,
          [bad.eventId],
        );
        return rows.length > 0;
      },
      { timeoutMs: 30_000 },
    );
    await waitFor(
      'the dead-letter write to fail',
      async () => (await gateway.pool.query(`SELECT is_called FROM refusals_for_now`)).rows[0].is_called === true,
      { timeoutMs: 30_000 },
    );
    await gateway.pool.query(`DROP TRIGGER refuse_for_now ON dead_letters`);

    const letter = await waitFor(
      'the SMS dead letter',
      async () => {
        const { rows } = await gateway.pool.query(
          `SELECT error_code FROM dead_letters WHERE event_id = $1 AND channel = 'sms'`,
          [bad.eventId],
        );
        return rows.length ? rows : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(letter).toEqual([{ error_code: 'TWILIO_21211' }]);
    // The ledger is written after the dead letter (so that a failed dead-letter write leaves the row to be found
    // again): it says so a moment later.
    const status = await waitFor(
      'the ledger to say dead-lettered',
      async () => {
        const [row] = await gateway.deliveries.find({ eventId: bad.eventId, channel: 'sms' });
        return row?.status === 'dead_lettered' ? row.status : undefined;
      },
      { timeoutMs: 10_000 },
    );
    expect(status).toBe('dead_lettered');
  });

  /** Strings PostgreSQL or a template would choke on, and ordinary ones. */
  const hostileString = fc.oneof(
    fc.constantFrom(
      '\u0000',
      'A\u0000B',
      '\ud800',
      'x\udfffy',
      '{{pnrNumber}}',
      '<script>alert(1)</script>',
      '',
      ' ',
      'x'.repeat(5_000),
    ),
    fc.string({ unit: 'binary', maxLength: 40 }),
  );
  const hostileValue = fc.oneof(
    hostileString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.object({ maxDepth: 2 }),
  );
  const eventTypes: EventType[] = ['BOOKING_CONFIRMED', 'BOOKING_CANCELLED', 'PAYMENT_COMPLETED', 'TRAVEL_DISRUPTION'];
  /** A record's value: bytes that are not JSON, JSON that is no event, and near-valid events with one field gone bad. */
  const hostileValue$ = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
    fc.json({ maxDepth: 3 }).map((text) => Buffer.from(text)),
    fc
      .record({
        field: fc.constantFrom(...Object.keys(bookingConfirmed())),
        value: hostileValue,
        eventType: fc.constantFrom(...eventTypes),
      })
      .map(({ field, value, eventType }) =>
        Buffer.from(JSON.stringify({ ...bookingConfirmed({ eventType }), [field]: value })),
      ),
    fc.constant(
      Buffer.from(
        `{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, ${JSON.stringify(bookingConfirmed()).slice(1)}`,
      ),
    ),
    fc.constant(Buffer.alloc(300_000, 'a')),
  );
  const hostileRecord = fc.record({
    value: fc.option(hostileValue$, { nil: null }),
    key: fc.option(fc.oneof(fc.string({ maxLength: 20 }), fc.constant('\u0000')), { nil: null }),
    /** Retry topics carry headers the consumers read: garbage there too. */
    headers: fc.dictionary(
      fc.constantFrom(
        'x-due-at',
        'x-attempts',
        'x-first-failed-at',
        'x-user-id',
        'x-original-partition',
        'x-original-offset',
        'x-replay-of',
      ),
      fc.string({ unit: 'binary', maxLength: 30 }),
    ),
    topic: fc.constantFrom(
      'booking-confirmed',
      'booking-cancelled',
      'payment-completed',
      'travel-disruption',
      'retry-email',
      'retry-sms',
      'retry-websocket',
      'retry-whatsapp',
    ),
  });

  it('hostile records straight on the topics: each invalid one dead-lettered, and a normal booking after them reaches every channel', async () => {
    const prefix = gateway.config.KAFKA_TOPIC_PREFIX;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(hostileRecord, { minLength: 1, maxLength: 20 }), async (records) => {
        run += 1;
        const eventRecords: Array<{ topic: string; partition: number; offset: string; invalid: boolean }> = [];
        for (const record of records) {
          const topic = record.topic.startsWith('retry-')
            ? retryTopic(record.topic.slice('retry-'.length) as (typeof CHANNELS)[number], 1, prefix)
            : topicName(record.topic as Parameters<typeof topicName>[0], prefix);
          const [meta] = await producer.send({
            topic,
            messages: [{ key: record.key, value: record.value, headers: record.headers }],
          });
          if (!record.topic.startsWith('retry-')) {
            eventRecords.push({
              topic,
              partition: meta!.partition,
              offset: meta!.baseOffset!,
              invalid: !isEvent(record.value),
            });
          }
        }
        await normalBookingArrives(`PROP${String(run).padStart(5, '0')}`);
        // Every record that is no event was dead-lettered by each channel reading its topic, with a reason.
        for (const record of eventRecords.filter((r) => r.invalid)) {
          const rows = await waitFor(
            `dead letters for ${record.topic}@${record.offset}`,
            async () => {
              const { rows } = await gateway.pool.query<{ error_code: string }>(
                `SELECT error_code FROM dead_letters WHERE original_topic = $1 AND original_partition = $2 AND original_offset = $3`,
                [record.topic, record.partition, record.offset],
              );
              return rows.length ? rows : undefined;
            },
            { timeoutMs: 30_000 },
          );
          for (const row of rows) expect(row.error_code).toMatch(/NOT_JSON|EVENT_INVALID|UNHANDLED/);
        }
        expect(Object.prototype).not.toHaveProperty('polluted');
      }),
      { numRuns: 15, endOnFailure: true },
    );
  });
});

function isEvent(value: Buffer | null): boolean {
  try {
    return parseEvent(JSON.parse(value?.toString('utf8') ?? '')).ok;
  } catch {
    return false;
  }
}
