import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUserToken } from '../src/http/jwt.js';
import { flightDelay } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { waitFor } from './helpers/wait-for.js';

/** "Only delays of 15 minutes or more", for all of a traveller's journeys or for one. */
describe('delay thresholds per traveller', () => {
  let gateway: Gateway;
  const run = randomBytes(2).toString('hex').toUpperCase();
  const flight = `T${run}`;
  const person = (label: string) => ({
    userId: `thr-${label}-${run.toLowerCase()}`,
    email: uniqueEmail(`thr-${label}`),
    phone: uniquePhone(),
  });
  // Every delay; 15 minutes or more on every journey; 15 in general but 60 for this flight.
  const everyDelay = person('all');
  const fifteen = person('fifteen');
  const sixtyHere = person('sixty');
  const people = [everyDelay, fifteen, sixtyHere];

  const api = async (method: string, path: string, userId: string, body: unknown) => {
    const token = await signUserToken(gateway.config.JWT_SECRET, userId);
    return fetch(`${gateway.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  };
  const smsTo = (who: (typeof people)[number]) => gateway.sandbox.store.list((m) => m.to === who.phone);
  const ledger = async (eventId: string) => {
    const { rows } = await gateway.pool.query<{ user_id: string; status: string; error_code: string | null }>(
      `SELECT user_id, status, error_code FROM deliveries WHERE event_id = $1 AND channel = 'sms'`,
      [eventId],
    );
    return Object.fromEntries(rows.map((r) => [r.user_id, `${r.status}${r.error_code ? ` ${r.error_code}` : ''}`]));
  };
  const delay = async (minutes: number) => {
    const eventId = randomUUID();
    await gateway.producer.publish(
      flightDelay({ eventId, flightNumber: flight, payload: { minutes, reason: 'crew' } }),
    );
    await waitFor(`the ${minutes}-minute delay settled for all three`, async () => {
      const rows = await ledger(eventId);
      return Object.keys(rows).length === 3 && !Object.values(rows).some((s) => s.startsWith('sending'));
    });
    return eventId;
  };

  beforeAll(async () => {
    gateway = await startGateway('thresholds');
    for (const who of people) {
      const contact = { contact: { email: who.email, phone: who.phone } };
      const threshold = who === everyDelay ? {} : { minDelayMinutes: 15 };
      expect(
        (await api('PATCH', `/users/${who.userId}/preferences`, who.userId, { ...contact, ...threshold })).status,
      ).toBe(200);
      const journey = who === sixtyHere ? { minDelayMinutes: 60 } : {};
      const followed = await api('POST', `/users/${who.userId}/itineraries`, who.userId, {
        flightNumber: flight,
        ...journey,
      });
      expect(followed.status).toBe(201);
    }
  });
  afterAll(() => gateway?.close());

  it('keeps the thresholds in the preferences and on the itinerary', async () => {
    const token = await signUserToken(gateway.config.JWT_SECRET, fifteen.userId);
    const view = await fetch(`${gateway.apiUrl}/users/${fifteen.userId}/preferences`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(((await view.json()) as { minDelayMinutes: number | null }).minDelayMinutes).toBe(15);
    const refused = await api('PATCH', `/users/${fifteen.userId}/preferences`, fifteen.userId, { minDelayMinutes: 0 });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { details: Array<{ path: string }> }).details[0]!.path).toBe('minDelayMinutes');
  });

  it('sends a 10-minute delay only to the traveller who wants every delay; the others are skipped with the reason', async () => {
    const eventId = await delay(10);
    expect(await ledger(eventId)).toEqual({
      [everyDelay.userId]: expect.stringMatching(/^(queued|sent|delivered)$/),
      [fifteen.userId]: 'skipped BELOW_THRESHOLD',
      [sixtyHere.userId]: 'skipped BELOW_THRESHOLD',
    });
    // The email group settles on its own time: the SMS ledger being settled says nothing of the email row yet.
    const emailSkip = await waitFor('the email skipped for the 15-minute traveller', async () => {
      const { rows } = await gateway.pool.query<{ error_message: string }>(
        `SELECT error_message FROM deliveries WHERE event_id = $1 AND user_id = $2 AND channel = 'email'`,
        [eventId, fifteen.userId],
      );
      return rows[0];
    });
    expect(emailSkip.error_message).toBe("a 10-minute delay is under the traveller's 15-minute threshold");
    await waitFor('the one SMS', () => smsTo(everyDelay).length === 1);
    expect(smsTo(fifteen)).toEqual([]);
    expect(smsTo(sixtyHere)).toEqual([]);
  });

  it('sends a 30-minute delay to those whose threshold it meets, not to the one whose journey asks for 60', async () => {
    const eventId = await delay(30);
    const rows = await ledger(eventId);
    expect(rows[sixtyHere.userId]).toBe('skipped BELOW_THRESHOLD');
    expect(rows[fifteen.userId]).toMatch(/^(queued|sent|delivered)$/);
    await waitFor('two more SMS', () => smsTo(everyDelay).length === 2 && smsTo(fifteen).length === 1);
    expect(smsTo(sixtyHere)).toEqual([]);
    expect(smsTo(fifteen)[0]!.body).toContain('30');
  });

  it('sends a 90-minute delay to everyone', async () => {
    await delay(90);
    await waitFor('an SMS each', () => people.every((who) => smsTo(who).length >= 1) && smsTo(sixtyHere).length === 1);
    expect(smsTo(everyDelay)).toHaveLength(3);
    expect(smsTo(fifteen)).toHaveLength(2);
  });
});
