import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS, DEFAULT_ROUTING, EVENT_TYPES } from '../src/events/index.js';
import { signUserToken } from '../src/http/jwt.js';
import { createKafka } from '../src/kafka/client.js';
import { fieldCipherOf, isSealed } from '../src/util/field-cipher.js';
import { bookingConfirmed } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { testLogger } from './helpers/kafka.js';
import { emailsTo } from './helpers/maildev.js';
import { waitFor } from './helpers/wait-for.js';

/** The operator's routing table as the API spells it: every event type, every channel, true or false. */
const DEFAULT_MATRIX = Object.fromEntries(
  EVENT_TYPES.map((e) => [e, Object.fromEntries(CHANNELS.map((c) => [c, DEFAULT_ROUTING[e].includes(c)]))]),
);

interface Answer {
  status: number;
  body: Record<string, any>;
}

describe('the preferences API and erasure', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway('preferences');
  });
  afterAll(async () => {
    await gateway?.close();
  });

  const traveller = (name: string) => ({
    userId: `${name}-${randomBytes(3).toString('hex')}`,
    email: uniqueEmail(name),
    phone: uniquePhone(),
  });
  const tokenFor = (userId: string) => signUserToken(gateway.config.JWT_SECRET, userId);
  const smsTo = (phone: string) => gateway.sandbox.store.list((m) => m.to === phone);
  const pnr = () => `P${randomBytes(4).toString('hex').toUpperCase()}`;

  async function call(
    method: string,
    path: string,
    { token, body }: { token?: string; body?: unknown } = {},
  ): Promise<Answer> {
    const response = await fetch(`${gateway.apiUrl}${path}`, {
      method,
      headers: {
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...(token && { authorization: `Bearer ${token}` }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }
  const prefs = (method: string, userId: string, token?: string, body?: unknown) =>
    call(method, `/users/${userId}/preferences`, { token, body });

  /** Every text and JSON column of every table that contains `needle`, as `table.column`. */
  /** Every text and JSON column of the gateway's tables that holds the needle, sealed values opened first. */
  async function columnsHolding(needle: string): Promise<string[]> {
    const { rows: columns } = await gateway.pool.query<{ table_name: string; column_name: string }>(
      `SELECT c.table_name, c.column_name FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
        WHERE c.table_schema = 'public' AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')`,
    );
    expect(columns.length).toBeGreaterThan(10);
    const cipher = fieldCipherOf(gateway.config);
    const found: string[] = [];
    for (const { table_name: table, column_name: column } of columns) {
      const { rows } = await gateway.pool.query<{ value: unknown }>(
        `SELECT "${column}" AS value FROM "${table}" WHERE "${column}" IS NOT NULL`,
      );
      const holds = rows.some(({ value }) => {
        const sealed = typeof value === 'string' && isSealed(value);
        const text = sealed ? cipher.open(value, `${table}.${column}`) : JSON.stringify(value);
        return text.toLowerCase().includes(needle.toLowerCase());
      });
      if (holds) found.push(`${table}.${column}`);
    }
    return found;
  }

  it('refuses bad input with a 400 naming the field, and changes nothing', async () => {
    const { userId } = traveller('picky');
    const token = await tokenFor(userId);
    const kolkata = { start: '22:00', end: '07:00', timeZone: 'Asia/Kolkata' };
    for (const [body, path, message] of [
      [{ channels: { fax: true } }, 'channels.fax', /unknown channel/],
      [{ events: { BOOKING_EXPLODED: { sms: false } } }, 'events.BOOKING_EXPLODED', /unknown event type/],
      [{ events: { BOOKING_CONFIRMED: { pigeon: true } } }, 'events.BOOKING_CONFIRMED.pigeon', /unknown channel/],
      [{ channels: { sms: 'no' } }, 'channels.sms', /true or false/],
      [{ events: { PAYMENT_COMPLETED: { sms: null } } }, 'events.PAYMENT_COMPLETED.sms', /true or false/],
      [{ quietHours: { ...kolkata, timeZone: 'Mars/Olympus_Mons' } }, 'quietHours.timeZone', /not an IANA time zone/],
      [{ quietHours: { ...kolkata, start: '25:00' } }, 'quietHours.start', /HH:MM/],
      [{ quietHours: { ...kolkata, start: '10pm' } }, 'quietHours.start', /HH:MM/],
      [{ quietHours: { start: '22:00', timeZone: 'Asia/Kolkata' } }, 'quietHours.end', /required/],
      [{ quietHours: { ...kolkata, end: '22:00:00' } }, 'quietHours.end', /differ/],
      [{ contact: { phone: '12' } }, 'contact.phone', /not a phone number/],
      [{ contact: { email: 'asha-at-example.com' } }, 'contact.email', /not an email address/],
      [{ contact: { whatsappOptIn: 'yes' } }, 'contact.whatsappOptIn', /true or false/],
      [{ colour: 'blue' }, 'colour', /unknown field/],
      [{ locale: 'fr' }, 'locale', /'en' or 'hi'/],
      [{ locale: 'not a tag!' }, 'locale', /'en' or 'hi'/],
    ] as const) {
      const answer = await prefs('PATCH', userId, token, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error).toBe('bad_request');
      const detail = (answer.body.details as Array<{ path: string; message: string }>).find((d) => d.path === path);
      expect(detail, `${JSON.stringify(body)} → ${JSON.stringify(answer.body.details)}`).toBeDefined();
      expect(detail!.message).toMatch(message);
    }
    const put = await prefs('PUT', userId, token, {
      channels: { sms: false },
      events: { BOOKING_CANCELLED: { fax: true } },
    });
    expect(put.status).toBe(400);
    expect(put.body.details).toEqual([expect.objectContaining({ path: 'events.BOOKING_CANCELLED.fax' })]);

    const after = await prefs('GET', userId, token);
    expect(after.body).toMatchObject({ channels: {}, events: {}, effective: DEFAULT_MATRIX });
  });

  it('answers the user themself and the admin; no token is 401, another user’s token is 403', async () => {
    const { userId } = traveller('guarded');
    const stranger = await tokenFor('someone-else');
    for (const method of ['GET', 'PUT', 'PATCH'] as const) {
      const body = method === 'GET' ? undefined : {};
      expect((await prefs(method, userId, undefined, body)).status, method).toBe(401);
      expect((await prefs(method, userId, 'not-a-token', body)).status, method).toBe(401);
      const forbidden = await prefs(method, userId, stranger, body);
      expect(forbidden.status, method).toBe(403);
      expect(forbidden.body).toMatchObject({ error: 'forbidden' });
    }
    expect((await call('DELETE', `/users/${userId}`)).status).toBe(401);
    expect((await call('DELETE', `/users/${userId}`, { token: stranger })).status).toBe(403);

    const byAdmin = await prefs('PATCH', userId, gateway.config.ADMIN_TOKEN, { channels: { sms: false } });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.channels).toEqual({ sms: false });
    const byThemself = await prefs('GET', userId, await tokenFor(userId));
    expect(byThemself.status).toBe(200);
    expect(byThemself.body.channels).toEqual({ sms: false });
  });

  it('answers the routing table’s defaults for someone the gateway does not know yet', async () => {
    const { userId } = traveller('newcomer');
    const answer = await prefs('GET', userId, gateway.config.ADMIN_TOKEN);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      userId,
      channels: {},
      events: {},
      quietHours: null,
      minDelayMinutes: null,
      locale: 'en',
      contact: { email: null, phone: null, whatsappOptIn: true },
      effective: DEFAULT_MATRIX,
    });
    expect(answer.body.effective.PAYMENT_COMPLETED).toEqual({
      email: true,
      sms: false,
      whatsapp: false,
      websocket: true,
    });
  });

  it('PATCH merges into what is stored; PUT replaces it, and a previous override disappears', async () => {
    const person = traveller('chooser');
    const token = await tokenFor(person.userId);
    const national = person.phone.slice(3); // how the operator's bookings write numbers: 98…, no country code
    const first = await prefs('PATCH', person.userId, token, {
      events: { BOOKING_CONFIRMED: { sms: false } },
      channels: { whatsapp: false },
      quietHours: { start: '22:00', end: '06:30', timeZone: 'Asia/Kolkata' },
      locale: 'hi-in',
      contact: { email: person.email, phone: national },
    });
    expect(first.status).toBe(200);
    await prefs('PATCH', person.userId, token, {
      events: { BOOKING_CONFIRMED: { email: false }, PAYMENT_COMPLETED: { sms: true } },
    });

    const merged = (await prefs('GET', person.userId, token)).body;
    expect(merged).toMatchObject({
      events: { BOOKING_CONFIRMED: { sms: false, email: false }, PAYMENT_COMPLETED: { sms: true } },
      channels: { whatsapp: false },
      quietHours: { start: '22:00:00', end: '06:30:00', timeZone: 'Asia/Kolkata' },
      locale: 'hi-IN',
      contact: { email: person.email, phone: person.phone, whatsappOptIn: true },
    });
    expect(merged.effective.BOOKING_CONFIRMED).toEqual({ email: false, sms: false, whatsapp: false, websocket: true });
    expect(merged.effective.PAYMENT_COMPLETED).toEqual({ email: true, sms: true, whatsapp: false, websocket: true });
    expect(merged.effective.TRAVEL_DISRUPTION).toEqual({ email: true, sms: true, whatsapp: false, websocket: true });
    const { rows } = await gateway.pool.query(
      `SELECT quiet_start::text, quiet_end::text, quiet_time_zone FROM preferences WHERE user_id = $1`,
      [person.userId],
    );
    expect(rows).toEqual([{ quiet_start: '22:00:00', quiet_end: '06:30:00', quiet_time_zone: 'Asia/Kolkata' }]);

    const cleared = await prefs('PATCH', person.userId, token, { quietHours: null });
    expect(cleared.body.quietHours).toBeNull();
    expect(cleared.body.events.BOOKING_CONFIRMED).toEqual({ sms: false, email: false });

    const replaced = await prefs('PUT', person.userId, token, { events: { BOOKING_CANCELLED: { whatsapp: true } } });
    expect(replaced.status).toBe(200);
    const after = (await prefs('GET', person.userId, gateway.config.ADMIN_TOKEN)).body;
    expect(after).toMatchObject({
      channels: {},
      events: { BOOKING_CANCELLED: { whatsapp: true } },
      quietHours: null,
      locale: 'en',
    });
    expect(after.events.BOOKING_CONFIRMED).toBeUndefined();
    expect(after.effective).toEqual({
      ...DEFAULT_MATRIX,
      BOOKING_CANCELLED: { email: true, sms: true, whatsapp: true, websocket: true },
    });
    // Contact details are shared with the bookings: a PUT that does not mention them keeps them.
    expect(after.contact).toEqual({ email: person.email, phone: person.phone, whatsappOptIn: true });
  });

  it('a change applies to the very next event', async () => {
    const person = traveller('switcher');
    const first = pnr();
    await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: first,
        userId: person.userId,
        userEmail: person.email,
        userPhone: person.phone,
      }),
    );
    // The SMS arriving means the consumers have read (and cached) the profile with SMS on.
    await waitFor('the first SMS', () => smsTo(person.phone).length === 1);

    const patched = await prefs('PATCH', person.userId, await tokenFor(person.userId), {
      events: { BOOKING_CONFIRMED: { sms: false } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.effective.BOOKING_CONFIRMED.sms).toBe(false);

    const second = pnr();
    const { eventId } = await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: second,
        userId: person.userId,
        userEmail: person.email,
        userPhone: person.phone,
      }),
    );
    await waitFor('the second email', async () =>
      (await emailsTo(person.email)).some((m) => m.subject.includes(second)),
    );
    const sms = await waitFor(
      'the SMS decision for the second booking',
      async () => (await gateway.deliveries.find({ eventId, channel: 'sms' }))[0],
    );
    expect(sms).toMatchObject({ status: 'skipped', errorCode: 'PREFERENCE_OFF' });
    expect(smsTo(person.phone)).toHaveLength(1);
    expect(smsTo(person.phone)[0]!.body).toContain(first);
  });

  it('erasure leaves no table holding the person’s email or phone, and they are never a recipient again', async () => {
    const person = traveller('erased');
    const national = person.phone.slice(3);
    const token = await tokenFor(person.userId);
    const socket = await gateway.connectAs(person.userId);
    const booking = pnr();
    await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: booking,
        userId: person.userId,
        userEmail: person.email,
        userPhone: national,
        userName: 'Erin Erased',
      }),
    );
    await waitFor(
      'email, SMS, WhatsApp and the live alert',
      async () =>
        (await emailsTo(person.email)).length === 1 &&
        smsTo(person.phone).length === 1 &&
        gateway.sandbox.store.list((m) => m.to === `whatsapp:${person.phone}`).length === 1 &&
        socket.alerts.length === 1,
    );
    await waitFor(
      'the itinerary from the booking',
      async () =>
        (await gateway.pool.query(`SELECT 1 FROM itineraries WHERE user_id = $1`, [person.userId])).rowCount === 1,
    );

    // A dead letter: a booking without a PNR (poison, still naming them). Rows on other accounts that merely hold
    // the same email or phone are not theirs, and erasure leaves them alone (test/erasure-scope.test.ts).
    const kafka = createKafka({ brokers: gateway.config.KAFKA_BROKERS, clientId: 'test-poison', logger: testLogger });
    const raw = kafka.producer();
    await raw.connect();
    await raw.send({
      topic: `${gateway.config.KAFKA_TOPIC_PREFIX}booking-confirmed`,
      messages: [
        {
          key: booking,
          value: JSON.stringify({
            eventType: 'BOOKING_CONFIRMED',
            userId: person.userId,
            userEmail: person.email,
            userPhone: national,
          }),
        },
      ],
    });
    await raw.disconnect();
    await waitFor(
      '4 dead letters from the poison record',
      async () =>
        Number(
          (await gateway.pool.query(`SELECT count(*) FROM dead_letters WHERE original_key = $1`, [booking])).rows[0]
            .count,
        ) === 4,
    );

    // The scan finds them before: it is able to.
    expect(await columnsHolding(person.email)).toEqual(
      expect.arrayContaining(['users.email', 'deliveries.recipient', 'dead_letters.payload']),
    );
    expect(await columnsHolding(national)).toEqual(
      expect.arrayContaining(['users.phone', 'deliveries.recipient', 'dead_letters.payload']),
    );

    const erased = await call('DELETE', `/users/${person.userId}`, { token });
    expect(erased.status).toBe(202);
    expect(erased.body).toEqual({
      userId: person.userId,
      erased: true,
      counts: { deliveries: 4, inbox: 1, deadLetters: 4, itineraries: 1 },
    });

    expect(await columnsHolding(person.email)).toEqual([]);
    expect(await columnsHolding(national)).toEqual([]);
    expect(await columnsHolding('Erin Erased')).toEqual([]);
    const {
      rows: [user],
    } = await gateway.pool.query(`SELECT name, email, phone, erased_at FROM users WHERE user_id = $1`, [person.userId]);
    expect(user).toMatchObject({ name: null, email: null, phone: null, erased_at: expect.any(Date) });
    const { rows: deliveries } = await gateway.pool.query(
      `SELECT status, recipient, body FROM deliveries WHERE user_id = $1`,
      [person.userId],
    );
    expect(deliveries).toHaveLength(4); // ids, status and counts stay for the operator's statistics
    expect(deliveries.every((d) => d.status && d.recipient === null && d.body === null)).toBe(true);
    const { rows: letters } = await gateway.pool.query(`SELECT payload FROM dead_letters WHERE original_key = $1`, [
      booking,
    ]);
    expect(letters.every((l) => l.payload.erased === true)).toBe(true);

    await waitFor('their socket to be closed', () => !socket.socket.connected);
    const answer = await prefs('GET', person.userId, gateway.config.ADMIN_TOKEN);
    expect(answer.body).toMatchObject({
      channels: {},
      events: {},
      quietHours: null,
      contact: { email: null, phone: null },
      effective: DEFAULT_MATRIX,
    });
    expect((await prefs('PATCH', person.userId, token, { contact: { email: person.email } })).status).toBe(410);

    // A later booking for them, with their details, resurrects nothing and reaches no one. A second traveller's
    // booking on the same key (so the same partition, read after it) shows when the projection has read it.
    const { eventId } = await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: booking,
        userId: person.userId,
        userEmail: person.email,
        userPhone: person.phone,
        userName: 'Erin Erased',
      }),
    );
    const marker = traveller('marker');
    await gateway.producer.publish(
      bookingConfirmed({ eventId: undefined, pnrNumber: booking, userId: marker.userId, userEmail: marker.email }),
    );
    await waitFor(
      'the projection past the later booking',
      async () => (await gateway.pool.query(`SELECT 1 FROM users WHERE user_id = $1`, [marker.userId])).rowCount === 1,
    );
    const later = await waitFor('every channel’s decision', async () => {
      const found = await gateway.deliveries.find({ eventId });
      return found.length === 4 ? found : undefined;
    });
    expect(later.map((d) => [d.status, d.recipient])).toEqual(Array(4).fill(['skipped', null]));
    expect(await columnsHolding(person.email)).toEqual([]);
    expect(await columnsHolding(national)).toEqual([]);
    expect(await emailsTo(person.email)).toHaveLength(1);
    expect(smsTo(person.phone)).toHaveLength(1);
    expect(socket.alerts).toHaveLength(1);

    // Erasing again is harmless.
    expect((await call('DELETE', `/users/${person.userId}`, { token: gateway.config.ADMIN_TOKEN })).status).toBe(202);
  });
});
