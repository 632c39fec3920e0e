import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flightDelay } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { emailsTo } from './helpers/maildev.js';
import { unchangedFor, waitFor } from './helpers/wait-for.js';

const MINUTE = 60_000;
/** FLIGHT_DELAY's default grace: a delay notice is of use until 30 minutes after the departure. */
const GRACE_MS = 30 * MINUTE;

/** A delay notice is never sent once the journey has begun; it is recorded `expired` instead. */
describe('expiry by departure', () => {
  let gateway: Gateway;
  const run = randomBytes(2).toString('hex').toUpperCase();

  /** Someone following a flight of their own, so that each test's notice reaches only them. */
  async function traveller(label: string) {
    const who = {
      userId: `exp-${label}-${run.toLowerCase()}`,
      email: uniqueEmail(`exp-${label}`),
      phone: uniquePhone(),
      flight: `E${label.slice(0, 2).toUpperCase()}${run}`,
    };
    await gateway.preferences.update(who.userId, { email: who.email, phone: who.phone });
    await gateway.itineraries.add({ userId: who.userId, vehicleKind: 'flight', vehicleNumber: who.flight });
    return who;
  }
  const ledger = async (eventId: string) => {
    const { rows } = await gateway.pool.query<{ channel: string; status: string; error_message: string | null }>(
      'SELECT channel, status, error_message FROM deliveries WHERE event_id = $1 ORDER BY channel',
      [eventId],
    );
    return rows;
  };
  const settled = (eventId: string, channels = 4) =>
    waitFor(
      'every channel settled',
      async () => {
        const rows = await ledger(eventId);
        return rows.length === channels && rows.every((r) => !['sending', 'queued'].includes(r.status))
          ? rows
          : undefined;
      },
      { timeoutMs: 60_000 },
    );
  const delayFor = (who: { flight: string }, departure: Date) => {
    const eventId = randomUUID();
    return {
      eventId,
      event: flightDelay({
        eventId,
        flightNumber: who.flight,
        departureTime: departure.toISOString(),
        payload: { minutes: 45, reason: 'late inbound aircraft' },
      }),
    };
  };

  beforeAll(async () => {
    gateway = await startGateway('expiry', { env: { RETRY_DELAYS_MS: '4000,4000' } });
  });
  afterAll(() => gateway?.close());

  it('never sends a delay notice for a flight that left an hour ago: every channel is recorded expired', async () => {
    const who = await traveller('late');
    const { eventId, event } = delayFor(who, new Date(Date.now() - GRACE_MS - 60 * MINUTE));
    await gateway.producer.publish(event);
    const rows = await settled(eventId);
    expect(rows.map((r) => [r.channel, r.status])).toEqual([
      ['email', 'expired'],
      ['sms', 'expired'],
      ['websocket', 'expired'],
      ['whatsapp', 'expired'],
    ]);
    expect(rows[0]!.error_message).toMatch(/^of no use after \d{4}-\d\d-\d\dT/);
    await unchangedFor('nothing sent', async () => (await emailsTo(who.email)).length, 1_000);
    expect(await emailsTo(who.email)).toEqual([]);
    expect(gateway.sandbox.store.list((m) => m.to.endsWith(who.phone))).toEqual([]);
  });

  it('sends the same notice when the flight has not left yet', async () => {
    const who = await traveller('ontime');
    const { eventId, event } = delayFor(who, new Date(Date.now() + 60 * MINUTE));
    await gateway.producer.publish(event);
    const rows = await settled(eventId);
    expect(rows.every((r) => ['sent', 'delivered'].includes(r.status))).toBe(true);
    await waitFor('the email', async () => (await emailsTo(who.email)).length === 1);
    expect(gateway.sandbox.store.list((m) => m.to === who.phone)).toHaveLength(1);
  });

  it('expires an SMS still waiting on its retry when the departure (plus grace) passes: it is never sent late', async () => {
    const who = await traveller('retry');
    // Every send to this number fails for now (a Twilio 500), so the SMS and WhatsApp go to their retry topics.
    gateway.sandbox.faults.set({ failNext: { count: 6, code: 20500, status: 500, to: who.phone } });
    const { eventId, event } = delayFor(who, new Date(Date.now() - GRACE_MS + 2_000));
    await gateway.producer.publish(event);
    const rows = await waitFor(
      'the SMS expired on its retry',
      async () => {
        const current = await ledger(eventId);
        return current.find((r) => r.channel === 'sms')?.status === 'expired' ? current : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    // The email went at once, while the notice was still of use.
    expect(rows.find((r) => r.channel === 'email')?.status).toBe('sent');
    gateway.sandbox.faults.clear();
    await unchangedFor('no late SMS', () => gateway.sandbox.store.list((m) => m.to === who.phone).length, 2_000);
    expect(gateway.sandbox.store.list((m) => m.to === who.phone)).toEqual([]);
  });
});
