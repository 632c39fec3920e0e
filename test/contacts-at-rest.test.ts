import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../src/db/pool.js';
import { signUserToken } from '../src/http/jwt.js';
import { createKafka } from '../src/kafka/client.js';
import { createResealer } from '../src/store/resealer.js';
import { createFieldCipher, fieldCipherOf, parseDataKeys } from '../src/util/field-cipher.js';
import { bookingConfirmed } from './fixtures/events.js';
import { freshDatabase, startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';
import { emailsTo } from './helpers/maildev.js';
import { waitFor } from './helpers/wait-for.js';

/** Everything a row holds, as text: what someone reading the database (or a backup of it) without the keys sees. */
const rawText = (rows: unknown[]) => JSON.stringify(rows);

/**
 * Contact details and message bodies at rest: the operator's documents ask for them to be encrypted. Whoever reads
 * PostgreSQL or the Redis profile cache without the data keys finds no address, name or message; the API, the
 * previews and the senders see them as they were.
 */
describe('contact details and message bodies at rest', () => {
  let gateway: Gateway;
  let redis: Redis;
  beforeAll(async () => {
    gateway = await startGateway('contacts-at-rest');
    redis = new Redis(gateway.config.REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await gateway?.close();
  });

  const person = () => ({
    userId: `sealed-${randomBytes(3).toString('hex')}`,
    name: `Sunita ${randomBytes(3).toString('hex')}`,
    email: uniqueEmail('sunita'),
    phone: uniquePhone(),
  });
  const admin = () => ({ authorization: `Bearer ${gateway.config.ADMIN_TOKEN}` });

  it('stores a booking traveller’s name, email, phone, messages and alert sealed, and gives them back opened', async () => {
    const p = person();
    const pnr = `S${randomBytes(4).toString('hex').toUpperCase()}`;
    const socket = await gateway.connectAs(p.userId);
    await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: pnr,
        userId: p.userId,
        userEmail: p.email,
        userPhone: p.phone,
        userName: p.name,
      }),
    );
    const [email] = await waitFor('the email', async () =>
      (await emailsTo(p.email)).length ? emailsTo(p.email) : undefined,
    );
    expect(email!.subject).toContain(pnr);
    await waitFor('the SMS', () => gateway.sandbox.store.list((m) => m.to === p.phone).length === 1);
    await waitFor('the alert', () => socket.alerts.length === 1);
    await waitFor('four deliveries recorded sent', async () => {
      const rows = await gateway.deliveries.find({ userId: p.userId });
      return rows.length === 4 && rows.every((r) => r.body !== null);
    });

    // Read as stored: no address, name, PNR or message text anywhere in the person's rows.
    const { rows: users } = await gateway.pool.query(
      'SELECT name, email, phone, phone_hash FROM users WHERE user_id = $1',
      [p.userId],
    );
    const { rows: deliveries } = await gateway.pool.query(
      'SELECT recipient, subject, body FROM deliveries WHERE user_id = $1',
      [p.userId],
    );
    const { rows: inbox } = await gateway.pool.query('SELECT payload FROM inbox WHERE user_id = $1', [p.userId]);
    expect(deliveries).toHaveLength(4);
    expect(inbox).toHaveLength(1);
    const stored = rawText([users, deliveries, inbox]);
    for (const secret of [p.email, p.phone, p.phone.slice(3), p.name, pnr]) expect(stored).not.toContain(secret);
    expect(users[0]).toMatchObject({
      name: expect.stringMatching(/^enc:v1:/),
      email: expect.stringMatching(/^enc:v1:/),
      phone: expect.stringMatching(/^enc:v1:/),
      phone_hash: fieldCipherOf(gateway.config).hash(p.phone),
    });
    for (const row of deliveries) expect(row.body).toMatch(/^enc:v1:/);
    expect(inbox[0].payload).toMatch(/^enc:v1:/);
    // Nor in the profile cache.
    const cached = await redis.get(`gateway:profile:${p.userId}`);
    expect(cached).toBeTruthy();
    for (const secret of [p.email, p.phone, p.name]) expect(cached).not.toContain(secret);

    // Opened where they are used: the ledger, the person's own preferences and inbox.
    const ledger = await gateway.deliveries.find({ userId: p.userId, channel: 'email' });
    expect(ledger[0]).toMatchObject({ recipient: p.email, subject: expect.stringContaining(pnr) });
    const token = await signUserToken(gateway.config.JWT_SECRET, p.userId);
    const preferences = await fetch(`${gateway.apiUrl}/users/${p.userId}/preferences`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(((await preferences.json()) as { contact: unknown }).contact).toMatchObject({
      email: p.email,
      phone: p.phone,
    });
    const alerts = await fetch(`${gateway.apiUrl}/users/${p.userId}/inbox`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(JSON.stringify(await alerts.json())).toContain(pnr);
  });

  it('keeps a dead-lettered record sealed, shows it opened to the operator, and erasure still finds it', async () => {
    const p = person();
    const key = `poison-${randomUUID()}`;
    // A booking without its PNR: every channel dead-letters it before it has a recipient.
    const kafka = createKafka({ brokers: gateway.config.KAFKA_BROKERS, clientId: 'test-sealed', logger: testLogger });
    const raw = kafka.producer();
    await raw.connect();
    await raw.send({
      topic: `${gateway.config.KAFKA_TOPIC_PREFIX}booking-confirmed`,
      messages: [
        {
          key,
          value: JSON.stringify({
            eventType: 'BOOKING_CONFIRMED',
            userId: p.userId,
            userEmail: p.email,
            userPhone: p.phone,
          }),
        },
      ],
    });
    await raw.disconnect();
    const letters = await waitFor('the dead letters', async () => {
      const { rows } = await gateway.pool.query<{ id: string; payload: unknown; event_user_id: string }>(
        'SELECT id, payload, event_user_id FROM dead_letters WHERE original_key = $1',
        [key],
      );
      return rows.length === 4 ? rows : undefined;
    });
    const stored = rawText(letters.map((l) => l.payload));
    expect(stored).not.toContain(p.email);
    expect(stored).not.toContain(p.phone);
    expect(letters.every((l) => l.event_user_id === p.userId)).toBe(true);

    const entry = await fetch(`${gateway.apiUrl}/admin/dlq/${letters[0]!.id}`, { headers: admin() });
    expect(entry.status).toBe(200);
    expect(((await entry.json()) as { payload: unknown }).payload).toMatchObject({
      userId: p.userId,
      userEmail: p.email,
      userPhone: p.phone,
    });

    const erased = await fetch(`${gateway.apiUrl}/users/${p.userId}`, { method: 'DELETE', headers: admin() });
    expect(erased.status).toBe(202);
    expect(await erased.json()).toMatchObject({ counts: { deadLetters: 4 } });
    const { rows: after } = await gateway.pool.query(
      'SELECT status, payload FROM dead_letters WHERE original_key = $1',
      [key],
    );
    for (const row of after) expect(row).toMatchObject({ status: 'discarded', payload: { erased: true } });
  });

  it('finds the owners of a number that replied STOP by its keyed hash', async () => {
    const p = person();
    const token = await signUserToken(gateway.config.JWT_SECRET, p.userId);
    const put = await fetch(`${gateway.apiUrl}/users/${p.userId}/preferences`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ contact: { email: p.email, phone: p.phone } }),
    });
    expect(put.status).toBe(200);
    const reply = await fetch(`${gateway.config.TWILIO_API_BASE_URL}/sandbox/inbound`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: p.phone, body: 'STOP' }),
    });
    expect(await reply.json()).toMatchObject({ webhookStatus: 200 });
    await waitFor('their SMS switched off', async () => {
      const profile = await gateway.preferences.get(p.userId);
      return profile?.channels.sms === false;
    });
  });
});

/** Rows stored before sealing, or under a key that is no longer first, are sealed again with the current key. */
describe('the resealer', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let pool: pg.Pool;
  const hashKey = randomBytes(32);
  const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
  const oldKey = key('old');
  const newKey = key('new');
  const cipherWith = (keys: string) => createFieldCipher({ keys: parseDataKeys(keys), hashKey });

  beforeAll(async () => {
    database = await freshDatabase(testConfig(uniquePrefix('resealer')).DATABASE_URL);
    pool = createPool(database.url, testLogger, 2);
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('seals plain and old-key values with the first key, keeping what they say, and fills the phone hash', async () => {
    const old = cipherWith(oldKey);
    const eventId = randomUUID();
    await pool.query(
      `INSERT INTO users (user_id, name, email, phone) VALUES ('plain', 'Plain Person', 'plain@example.com', '+919800000001'),
         ('older', $1, $2, $3), ('erased', NULL, NULL, NULL)`,
      [
        old.seal('Older Person', 'users.name'),
        old.seal('older@example.com', 'users.email'),
        old.seal('+919800000002', 'users.phone'),
      ],
    );
    await pool.query(
      `INSERT INTO deliveries (idempotency_key, event_id, event_type, channel, user_id, status, recipient, subject, body)
       VALUES ('k1', $1, 'BOOKING_CONFIRMED', 'email', 'plain', 'sent', 'plain@example.com', 'Booked', 'Your PNR P1'),
              ('k2', $1, 'BOOKING_CONFIRMED', 'sms', 'older', 'sent', $2, NULL, $3)`,
      [eventId, old.seal('+919800000002', 'deliveries.recipient'), old.seal('Your PNR P2', 'deliveries.body')],
    );
    await pool.query(
      `INSERT INTO inbox (user_id, event_id, event_type, payload) VALUES ('plain', $1, 'BOOKING_CONFIRMED', $2)`,
      [eventId, JSON.stringify({ title: 'Booked P1' })],
    );
    await pool.query(
      `INSERT INTO dead_letters (channel, original_topic, error_class, payload)
       VALUES ('email', 'booking-confirmed', 'permanent', $1), ('sms', 'booking-confirmed', 'permanent', '{"erased": true}')`,
      [JSON.stringify({ userId: 'plain', userEmail: 'plain@example.com' })],
    );

    const current = cipherWith(`${newKey},${oldKey}`);
    const counts = await createResealer({ pool, cipher: current, logger: testLogger }).run(
      new AbortController().signal,
    );
    expect(counts).toEqual({ users: 2, deliveries: 2, inbox: 1, dead_letters: 1 });

    // Only the new key is needed from now on.
    const fresh = cipherWith(newKey);
    const { rows: users } = await pool.query(
      'SELECT user_id, name, email, phone, phone_hash FROM users ORDER BY user_id',
    );
    expect(users.find((u) => u.user_id === 'erased')).toMatchObject({ name: null, phone_hash: null });
    for (const [id, name, email, phone] of [
      ['plain', 'Plain Person', 'plain@example.com', '+919800000001'],
      ['older', 'Older Person', 'older@example.com', '+919800000002'],
    ]) {
      const row = users.find((u) => u.user_id === id)!;
      expect(row.email).toMatch(/^enc:v1:new:/);
      expect([fresh.open(row.name, 'users.name'), fresh.open(row.email, 'users.email')]).toEqual([name, email]);
      expect(fresh.open(row.phone, 'users.phone')).toBe(phone);
      expect(row.phone_hash).toBe(fresh.hash(phone!));
    }
    const { rows: deliveries } = await pool.query('SELECT recipient, subject, body FROM deliveries ORDER BY id');
    expect(
      deliveries.map((d) => [
        fresh.open(d.recipient, 'deliveries.recipient'),
        d.subject && fresh.open(d.subject, 'deliveries.subject'),
        fresh.open(d.body, 'deliveries.body'),
      ]),
    ).toEqual([
      ['plain@example.com', 'Booked', 'Your PNR P1'],
      ['+919800000002', null, 'Your PNR P2'],
    ]);
    const { rows: inbox } = await pool.query('SELECT payload FROM inbox');
    expect(JSON.parse(fresh.open(inbox[0].payload, 'inbox.payload'))).toEqual({ title: 'Booked P1' });
    const { rows: letters } = await pool.query('SELECT payload FROM dead_letters ORDER BY id');
    expect(JSON.parse(fresh.open(letters[0].payload, 'dead_letters.payload'))).toMatchObject({
      userEmail: 'plain@example.com',
    });
    expect(letters[1].payload).toEqual({ erased: true });

    // A second walk finds nothing left to do.
    expect(
      await createResealer({ pool, cipher: current, logger: testLogger }).run(new AbortController().signal),
    ).toEqual({ users: 0, deliveries: 0, inbox: 0, dead_letters: 0 });
  });
});
