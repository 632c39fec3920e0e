import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addItineraries, makeTravellers, seedUsers } from '../../scripts/bench/gateway/travellers.js';
import { startKafka, stopKafka } from '../../scripts/stack/kafka.js';
import { fieldCipherOf } from '../../src/util/field-cipher.js';
import { startGateway, type Gateway } from '../helpers/full-gateway.js';
import { emailsTo } from '../helpers/maildev.js';
import { waitFor } from '../helpers/wait-for.js';

const TRAVELLERS = 400;
const CHANNELS = 4;
const RUN = randomBytes(3).toString('hex');
// As the event contract writes it (upper case), so the itineraries seeded below match it.
const TRAIN = `K${RUN}`.toUpperCase();

/** The keys that occur other than once among `keys`, of those `expected`. */
function offCounts(keys: string[], expected: string[]): string[] {
  const counts = new Map(expected.map((k) => [k, 0]));
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return [...counts].filter(([, n]) => n !== 1).map(([k, n]) => `${k}×${n}`);
}

/**
 * A disruption is split into parts on the fan-out topic, which the channel's group then delivers: the broker restarts
 * while those parts are being delivered (and their offsets committed, and their failures sent to retry topics).
 */
describe('fault: the Kafka broker restarts in the middle of a disruption to 400 travellers', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway('fan-out-kafka');
  }, 120_000);
  afterAll(async () => {
    await startKafka(gateway.config.KAFKA_BROKERS[0]!, () => {});
    await gateway?.close();
  }, 120_000);

  it('each traveller still gets its alert, SMS, WhatsApp message and email exactly once', async () => {
    const travellers = makeTravellers(`K${RUN}`, TRAVELLERS);
    await seedUsers(gateway.pool, fieldCipherOf(gateway.config), travellers);
    await addItineraries(gateway.pool, travellers, TRAIN);

    const { eventId } = await gateway.producer.publish({
      eventType: 'TRAVEL_DISRUPTION',
      disruptionType: 'TRAIN_DELAY',
      trainNumber: TRAIN,
      payload: { minutes: 30, reason: 'a broken rail' },
    });
    const rows = async () =>
      Number(
        (await gateway.pool.query('SELECT count(*) FROM deliveries WHERE event_id = $1', [eventId])).rows[0].count,
      );
    const all = TRAVELLERS * CHANNELS;
    const atRestart = await waitFor(
      'the disruption under way',
      async () => {
        const n = await rows();
        return n >= all / 8 ? n : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    await stopKafka();
    await startKafka(gateway.config.KAFKA_BROKERS[0]!, () => {});

    await waitFor(
      'every delivery settled',
      async () => {
        const { rows: settled } = await gateway.pool.query(
          `SELECT count(*)::int AS n FROM deliveries WHERE event_id = $1 AND status <> 'sending'`,
          [eventId],
        );
        return settled[0].n >= all;
      },
      { timeoutMs: 180_000, intervalMs: 1_000 },
    );
    const phones = travellers.map((t) => t.phone);
    const sandboxTo = (prefix: string) =>
      gateway.sandbox.store
        .list((m) => m.to.startsWith(`${prefix}+9198`) && m.body.includes(TRAIN))
        .map((m) => m.to.slice(prefix.length));
    const addresses = travellers.map((t) => t.email.toLowerCase());
    const mail = await waitFor(
      'every email in MailDev',
      async () => {
        const caught = await emailsTo(addresses);
        return caught.length >= TRAVELLERS ? caught : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 2_000 },
    );
    // Anything doubled has had time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const { rows: inbox } = await gateway.pool.query<{ user_id: string }>(
      'SELECT user_id FROM inbox WHERE event_id = $1',
      [eventId],
    );

    expect(atRestart, 'the restart came in the middle of the disruption').toBeLessThan(all);
    expect.soft(offCounts(sandboxTo(''), phones), 'SMS per traveller').toEqual([]);
    expect.soft(offCounts(sandboxTo('whatsapp:'), phones), 'WhatsApp messages per traveller').toEqual([]);
    expect
      .soft(
        offCounts(
          (await emailsTo(addresses)).map((m) => m.to[0]!.address.toLowerCase()),
          addresses,
        ),
        'emails per traveller',
      )
      .toEqual([]);
    expect(mail.length).toBeGreaterThanOrEqual(TRAVELLERS);
    expect
      .soft(
        offCounts(
          inbox.map((r) => r.user_id),
          travellers.map((t) => t.userId),
        ),
        'alerts per traveller',
      )
      .toEqual([]);
  }, 360_000);
});
