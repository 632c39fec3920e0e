import { randomBytes, randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUserToken } from '../src/http/jwt.js';
import { openMessage } from '../src/store/deliveries.repository.js';
import { openContact } from '../src/store/sealed-contacts.js';
import { fieldCipherOf, openJson } from '../src/util/field-cipher.js';
import { bookingConfirmed } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { emailsTo } from './helpers/maildev.js';
import { waitFor } from './helpers/wait-for.js';

interface DeliveryRow {
  id: string;
  channel: string;
  status: string;
  recipient: string | null;
  body: string | null;
}

/**
 * Contact details are whatever the user typed in, never verified: erasing yourself after setting your email and phone
 * to someone else's must not touch that other person's history, dead letters or held messages.
 */
describe('erasure touches only what belongs to the erased user', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway('erasure-scope');
  });
  afterAll(async () => {
    await gateway?.close();
  });

  const id = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;
  const tokenFor = (userId: string) => signUserToken(gateway.config.JWT_SECRET, userId);
  // As stored, opened with the gateway's data keys.
  const deliveriesOf = async (userId: string) =>
    (
      await gateway.pool.query<DeliveryRow>(
        `SELECT id, channel, status, recipient, body FROM deliveries WHERE user_id = $1 ORDER BY id`,
        [userId],
      )
    ).rows.map((row) => openMessage(fieldCipherOf(gateway.config), { ...row, subject: null }));
  async function call(method: string, path: string, token: string, body?: unknown) {
    const response = await fetch(`${gateway.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it("leaves B's delivery history, dead letter and deferred SMS alone when A erases A with B's email and phone", async () => {
    const victim = { userId: id('victim'), email: uniqueEmail('victim'), phone: uniquePhone() };
    const attacker = { userId: id('attacker'), email: uniqueEmail('attacker'), phone: uniquePhone() };
    const victimToken = await tokenFor(victim.userId);
    const attackerToken = await tokenFor(attacker.userId);

    // B is in quiet hours, so the booking's SMS and WhatsApp wait as deferred deliveries; email and the alert go.
    const now = DateTime.now().setZone('UTC');
    const quiet = {
      start: now.minus({ minutes: 5 }).toFormat('HH:mm:ss'),
      end: now.plus({ hours: 1 }).toFormat('HH:mm:ss'),
      timeZone: 'UTC',
    };
    expect(
      (
        await call('PATCH', `/users/${victim.userId}/preferences`, victimToken, {
          contact: { email: victim.email, phone: victim.phone },
          quietHours: quiet,
        })
      ).status,
    ).toBe(200);
    const victimPnr = `V${randomBytes(4).toString('hex').toUpperCase()}`;
    const victimBooking = await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: victimPnr,
        userId: victim.userId,
        userEmail: victim.email,
        userPhone: victim.phone,
        userName: 'Vera Victim',
      }),
    );
    await waitFor("B's email", async () => (await emailsTo(victim.email)).length === 1, { timeoutMs: 60_000 });
    const victimBefore = await waitFor("B's four deliveries, SMS deferred", async () => {
      const rows = await deliveriesOf(victim.userId);
      return rows.length === 4 && rows.some((r) => r.channel === 'sms' && r.status === 'deferred') ? rows : undefined;
    });
    const {
      rows: [letter],
    } = await gateway.pool.query<{ id: string }>(
      `INSERT INTO dead_letters (channel, event_id, event_type, user_id, original_topic, error_class, error_code, error_message, payload)
       VALUES ('email', $1, 'BOOKING_CONFIRMED', $2, 'booking-confirmed', 'permanent', 'SMTP_550', $3, $4) RETURNING id`,
      [
        victimBooking.eventId,
        victim.userId,
        `550 mailbox ${victim.email} unavailable`,
        JSON.stringify({
          eventId: victimBooking.eventId,
          eventType: 'BOOKING_CONFIRMED',
          userId: victim.userId,
          userEmail: victim.email,
          userPhone: victim.phone,
        }),
      ],
    );

    // A has a history of their own, then claims B's email and phone and asks to be erased.
    await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: `A${randomBytes(4).toString('hex').toUpperCase()}`,
        userId: attacker.userId,
        userEmail: attacker.email,
        userPhone: attacker.phone,
      }),
    );
    await waitFor(
      "A's four deliveries",
      async () => (await deliveriesOf(attacker.userId)).filter((r) => r.status !== 'sending').length === 4,
    );
    expect(
      (
        await call('PATCH', `/users/${attacker.userId}/preferences`, attackerToken, {
          contact: { email: victim.email, phone: victim.phone },
        })
      ).status,
    ).toBe(200);
    const erased = await call('DELETE', `/users/${attacker.userId}`, attackerToken);
    expect(erased.status).toBe(202);
    expect(erased.body).toMatchObject({ counts: { deliveries: 4, deadLetters: 0 } });

    // A's rows are masked...
    const attackerAfter = await deliveriesOf(attacker.userId);
    expect(attackerAfter).toHaveLength(4);
    expect(attackerAfter.every((r) => r.recipient === null && r.body === null)).toBe(true);
    // ...B's are exactly as they were: recipients, bodies, the held SMS still held, the dead letter still replayable.
    expect(await deliveriesOf(victim.userId)).toEqual(victimBefore);
    const deferred = victimBefore.find((r) => r.channel === 'sms')!;
    expect(deferred).toMatchObject({
      status: 'deferred',
      recipient: victim.phone,
      body: expect.stringContaining(victimPnr),
    });
    const {
      rows: [after],
    } = await gateway.pool.query(`SELECT status, payload, error_message FROM dead_letters WHERE id = $1`, [letter!.id]);
    after.payload = openJson(fieldCipherOf(gateway.config), after.payload, 'dead_letters.payload');
    expect(after).toMatchObject({
      status: 'pending',
      error_message: `550 mailbox ${victim.email} unavailable`,
      payload: { userId: victim.userId, userEmail: victim.email, userPhone: victim.phone },
    });
    const {
      rows: [profile],
    } = await gateway.pool.query(`SELECT email, phone, erased_at FROM users WHERE user_id = $1`, [victim.userId]);
    expect(openContact(fieldCipherOf(gateway.config), profile)).toMatchObject({
      email: victim.email,
      phone: victim.phone,
      erased_at: null,
    });
  });

  it("still masks the erased user's own dead letters, by user id or by the event that names them", async () => {
    const person = { userId: id('owner'), email: uniqueEmail('owner') };
    const insert = (userId: string | null, payload: Record<string, unknown>) =>
      gateway.pool.query<{ id: string }>(
        `INSERT INTO dead_letters (channel, user_id, original_topic, error_class, error_code, payload)
       VALUES ('email', $1, 'booking-confirmed', 'permanent', 'EVENT_INVALID', $2) RETURNING id`,
        [userId, JSON.stringify(payload)],
      );
    const own = (await insert(person.userId, { eventId: randomUUID(), userId: person.userId, userEmail: person.email }))
      .rows[0]!.id;
    const poison = (
      await insert(null, { eventType: 'BOOKING_CONFIRMED', userId: person.userId, userEmail: person.email })
    ).rows[0]!.id;

    const erased = await call('DELETE', `/users/${person.userId}`, gateway.config.ADMIN_TOKEN);
    expect(erased.body).toMatchObject({ counts: { deadLetters: 2 } });
    const { rows } = await gateway.pool.query(`SELECT status, payload FROM dead_letters WHERE id = ANY($1::bigint[])`, [
      [own, poison],
    ]);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatchObject({ status: 'discarded', payload: { erased: true } });
  });
});
