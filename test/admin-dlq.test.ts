import { randomBytes, randomUUID } from 'node:crypto';
import type { IHeaders, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryGroupOf } from '../src/consumers/consumer-groups.js';
import type { Channel } from '../src/events/index.js';
import { createKafka } from '../src/producer/kafka.js';
import { bookingConfirmed } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { readRecords, testLogger } from './helpers/kafka.js';
import { waitFor } from './helpers/wait-for.js';

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

interface LetterRow {
  channel?: string;
  event_type?: string | null;
  error_code?: string | null;
  status?: string;
  payload?: unknown;
  user_id?: string | null;
  idempotency_key?: string | null;
  original_key?: string | null;
  event_id?: string | null;
}

describe('the dead-letter admin API', () => {
  let gateway: Gateway;
  let kafka: Kafka;
  let admin: string;
  beforeAll(async () => {
    gateway = await startGateway('admin-dlq');
    admin = gateway.config.ADMIN_TOKEN;
    kafka = createKafka({ brokers: gateway.config.KAFKA_BROKERS, clientId: 'test-admin-dlq', logger: testLogger });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  const prefix = () => gateway.config.KAFKA_TOPIC_PREFIX;
  const retryTopic = (channel: string) => `${prefix()}notifications.${channel}.retry.1`;
  const code = (name: string) => `${name}_${randomBytes(3).toString('hex').toUpperCase()}`;

  async function call(method: string, path: string, { token = admin, body }: { token?: string | null; body?: unknown } = {}): Promise<Answer> {
    const response = await fetch(`${gateway.apiUrl}${path}`, {
      method,
      headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...(token && { authorization: `Bearer ${token}` }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  }

  /** A dead letter written straight into the index, as the channel consumers write them. */
  async function insertLetter(row: LetterRow = {}): Promise<number> {
    const eventId = row.event_id === undefined ? randomUUID() : row.event_id;
    // Replays are delivered by the worker's retry groups: each entry names a traveller and addresses of its own.
    const traveller = { userId: row.user_id ?? `dlq-${randomBytes(3).toString('hex')}`, userEmail: uniqueEmail('dlq'), userPhone: uniquePhone() };
    const payload = row.payload === undefined ? bookingConfirmed({ eventId, ...traveller }) : row.payload;
    const { rows } = await gateway.pool.query<{ id: string }>(
      `INSERT INTO dead_letters (channel, event_id, event_type, user_id, idempotency_key, original_topic, original_partition,
         original_offset, original_key, consumer_group, attempts, error_class, error_code, error_message, payload, status)
       VALUES ($1, $2, $3, $4, $5, $6, 0, '7', $7, 'email-notification-group', 1, 'permanent', $8, 'test failure', $9, $10)
       RETURNING id`,
      [row.channel ?? 'email', eventId, row.event_type === undefined ? 'BOOKING_CONFIRMED' : row.event_type, row.user_id ?? null,
        row.idempotency_key ?? null, `${prefix()}booking-confirmed`, row.original_key ?? 'PNR1234567', row.error_code ?? 'SMTP_550',
        payload === null ? null : JSON.stringify(payload), row.status ?? 'pending'],
    );
    return Number(rows[0]!.id);
  }

  const letter = async (id: number) => (await gateway.pool.query(`SELECT * FROM dead_letters WHERE id = $1`, [id])).rows[0];
  const auditOf = async (id: number) =>
    (await gateway.pool.query(`SELECT action, actor, filter, result FROM dead_letter_audit WHERE dead_letter_id = $1 ORDER BY id`, [id])).rows;
  const ids = (answer: Answer) => (answer.body.items as Array<{ id: number }>).map((item) => item.id);
  const header = (headers: IHeaders | undefined, name: string) => headers?.[name]?.toString();

  /** Exactly how many records a topic holds (the replay producer is idempotent: no duplicates, no markers). */
  async function recordCount(topic: string): Promise<number> {
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    try {
      return (await kafkaAdmin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    } finally {
      await kafkaAdmin.disconnect();
    }
  }

  /** Every record on a topic, values as raw text (a replayed poison record need not be JSON). */
  async function readRaw(topic: string, count: number): Promise<Array<{ key: string; value: string; headers: IHeaders }>> {
    const records: Array<{ key: string; value: string; headers: IHeaders }> = [];
    const consumer = kafka.consumer({ groupId: `${topic}.raw-reader.${randomBytes(3).toString('hex')}` });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          records.push({ key: message.key?.toString() ?? '', value: message.value?.toString() ?? '', headers: message.headers ?? {} });
        },
      });
      await waitFor(`${count} records on ${topic} (have ${records.length})`, () => records.length >= count, { timeoutMs: 60_000 });
      return records;
    } finally {
      await consumer.disconnect();
    }
  }

  it('lists exactly the entries each filter selects, newest first', async () => {
    await gateway.pool.query(`DELETE FROM dead_letters`); // the test's own database: start from a known set
    const made = {
      emailConfirmed: await insertLetter({ channel: 'email', event_type: 'BOOKING_CONFIRMED', error_code: 'SMTP_550' }),
      smsConfirmed: await insertLetter({ channel: 'sms', event_type: 'BOOKING_CONFIRMED', error_code: 'TWILIO_21211' }),
      smsCancelled: await insertLetter({ channel: 'sms', event_type: 'BOOKING_CANCELLED', error_code: 'TWILIO_21211', status: 'replayed' }),
      whatsappDisruption: await insertLetter({ channel: 'whatsapp', event_type: 'TRAVEL_DISRUPTION', error_code: 'TWILIO_63016' }),
      websocketPayment: await insertLetter({ channel: 'websocket', event_type: 'PAYMENT_COMPLETED', error_code: 'INVALID_MESSAGE', status: 'discarded' }),
      emailPoison: await insertLetter({ channel: 'email', event_type: null, error_code: 'NOT_JSON', payload: { unparsed: 'garbage' } }),
    };
    const expectIds = async (query: string, expected: number[]) => {
      const answer = await call('GET', `/admin/dlq${query}`);
      expect(answer.status, query).toBe(200);
      expect(ids(answer), query).toEqual([...expected].sort((a, b) => b - a));
      expect(answer.body.nextCursor, query).toBeNull();
    };
    await expectIds('', Object.values(made));
    await expectIds('?channel=email', [made.emailConfirmed, made.emailPoison]);
    await expectIds('?channel=sms', [made.smsConfirmed, made.smsCancelled]);
    await expectIds('?channel=websocket', [made.websocketPayment]);
    await expectIds('?eventType=BOOKING_CONFIRMED', [made.emailConfirmed, made.smsConfirmed]);
    await expectIds('?eventType=PAYMENT_COMPLETED', [made.websocketPayment]);
    await expectIds('?errorCode=TWILIO_21211', [made.smsConfirmed, made.smsCancelled]);
    await expectIds('?errorCode=NOT_JSON', [made.emailPoison]);
    await expectIds('?errorCode=NOTHING_LIKE_IT', []);
    await expectIds('?status=pending', [made.emailConfirmed, made.smsConfirmed, made.whatsappDisruption, made.emailPoison]);
    await expectIds('?status=replayed', [made.smsCancelled]);
    await expectIds('?status=discarded', [made.websocketPayment]);
    await expectIds('?channel=sms&status=pending&errorCode=TWILIO_21211&eventType=BOOKING_CONFIRMED', [made.smsConfirmed]);

    const [first] = (await call('GET', '/admin/dlq?channel=whatsapp')).body.items;
    expect(first).toMatchObject({
      id: made.whatsappDisruption, channel: 'whatsapp', eventType: 'TRAVEL_DISRUPTION', errorCode: 'TWILIO_63016', errorClass: 'permanent',
      status: 'pending', replayedAt: null, original: { topic: `${prefix()}booking-confirmed`, partition: 0, offset: '7', key: 'PNR1234567' },
    });
  });

  it('wants the admin token: none → 401, another → 403, before looking at the request', async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/admin/dlq'], ['GET', '/admin/dlq/1'], ['POST', '/admin/dlq/1/replay'],
      ['POST', '/admin/dlq/replay', { filter: {}, dryRun: true }], ['DELETE', '/admin/dlq/1'],
    ];
    for (const [method, path, body] of routes) {
      const none = await call(method, path, { token: null, body });
      expect(none.status, `${method} ${path}`).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect(none.body).toMatchObject({ error: 'unauthorized', details: [{ path: 'authorization', message: 'required' }] });
      const wrong = await call(method, path, { token: `${admin}x`, body });
      expect(wrong.status, `${method} ${path}`).toBe(403);
      expect(wrong.body.error).toBe('forbidden');
    }
    // A user's JWT is not the admin token; neither is the right token under another scheme.
    const basic = await fetch(`${gateway.apiUrl}/admin/dlq`, { headers: { authorization: `Basic ${admin}` } });
    expect(basic.status).toBe(401);
    expect((await call('GET', '/admin/dlq?channel=fax', { token: 'not-the-token' })).status).toBe(403);
    expect((await call('GET', '/admin/dlq')).status).toBe(200);
  });

  it('refuses bad filters, ids and bodies with a 400 naming the field', async () => {
    const cases: Array<[string, string]> = [
      ['?channel=fax', 'channel'], ['?eventType=BOOKING', 'eventType'], ['?status=done', 'status'], ['?errorCode=', 'errorCode'],
      ['?errorCode=a%20b', 'errorCode'], ['?limit=0', 'limit'], ['?limit=201', 'limit'], ['?limit=ten', 'limit'],
      ['?cursor=bm90LWFuLWlk', 'cursor'], ['?cursor=!!', 'cursor'], ['?chanel=sms', 'chanel'], ['?channel=sms&channel=email', 'channel'],
    ];
    for (const [query, field] of cases) {
      const answer = await call('GET', `/admin/dlq${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error).toBe('bad_request');
      expect(answer.body.details.map((d: { path: string }) => d.path), query).toEqual([field]);
    }
    const both = await call('GET', '/admin/dlq?channel=fax&limit=1000&page=2');
    expect(both.body.details.map((d: { path: string }) => d.path).sort()).toEqual(['channel', 'limit', 'page']);

    for (const id of ['abc', '0', '-3', '1.5', '99999999999999999999']) {
      const answer = await call('GET', `/admin/dlq/${id}`);
      expect(answer.status, id).toBe(400);
      expect(answer.body.details).toEqual([{ path: 'id', message: 'must be a positive integer' }]);
    }
    expect((await call('POST', '/admin/dlq/x/replay')).status).toBe(400);
    expect((await call('DELETE', '/admin/dlq/0')).status).toBe(400);

    const bodies: Array<[unknown, string]> = [
      [{ filter: { channel: 'fax' } }, 'filter.channel'], [{ filter: { status: 'discarded' } }, 'filter.status'],
      [{ filter: { eventType: 'X' } }, 'filter.eventType'], [{ filter: {}, limit: 5000 }, 'limit'], [{ filter: {}, limit: 0 }, 'limit'],
      [{ filter: {}, dryRun: 'yes' }, 'dryRun'], [{ dryRun: true }, 'filter'], [{ filter: {}, dryrun: true }, 'dryrun'],
      [{ filter: { chanel: 'sms' } }, 'filter.chanel'], [[], 'body'],
    ];
    for (const [body, field] of bodies) {
      const answer = await call('POST', '/admin/dlq/replay', { body });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.details.map((d: { path: string }) => d.path), JSON.stringify(body)).toEqual([field]);
    }
    expect((await call('POST', '/admin/dlq/replay')).status).toBe(400);
  });

  it('pages by cursor: every entry once, newest first', async () => {
    const errorCode = code('PAGING');
    const made: number[] = [];
    for (let i = 0; i < 25; i += 1) made.push(await insertLetter({ error_code: errorCode, channel: i % 2 ? 'sms' : 'email' }));
    const seen: number[] = [];
    const pages: number[] = [];
    let cursor: string | null = null;
    do {
      const answer: Answer = await call('GET', `/admin/dlq?errorCode=${errorCode}&limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      expect(answer.status).toBe(200);
      pages.push(answer.body.items.length);
      seen.push(...ids(answer));
      cursor = answer.body.nextCursor;
    } while (cursor && pages.length < 10);
    expect(pages).toEqual([10, 10, 5]);
    expect(seen).toEqual([...made].reverse());
    // The default page is 50; the cursor is opaque but stable.
    expect((await call('GET', `/admin/dlq?errorCode=${errorCode}`)).body.items).toHaveLength(25);
  });

  it('shows one entry, and answers 404 for one that does not exist', async () => {
    const eventId = randomUUID();
    const id = await insertLetter({ channel: 'sms', event_id: eventId, user_id: 'u-42', idempotency_key: `${eventId}:sms:u-42`, error_code: 'TWILIO_21211' });
    const answer = await call('GET', `/admin/dlq/${id}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      id, channel: 'sms', eventId, eventType: 'BOOKING_CONFIRMED', userId: 'u-42', idempotencyKey: `${eventId}:sms:u-42`,
      errorCode: 'TWILIO_21211', status: 'pending', payload: { eventId, pnrNumber: '1234567890' },
    });
    expect(new Date(answer.body.firstFailedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    const missing = await call('GET', `/admin/dlq/${id + 100_000}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: 'not_found', details: [{ path: 'id', message: 'not found' }] });
    expect((await call('POST', `/admin/dlq/${id + 100_000}/replay`)).status).toBe(404);
    expect((await call('DELETE', `/admin/dlq/${id + 100_000}`)).status).toBe(404);
  });

  it('deletes by discarding: the entry stays for the record, is never replayed, and the audit says who', async () => {
    const id = await insertLetter({ error_code: code('DELETE') });
    const answer = await call('DELETE', `/admin/dlq/${id}`);
    expect(answer.status).toBe(204);
    expect(answer.body).toBeUndefined();
    expect((await call('GET', `/admin/dlq/${id}`)).body).toMatchObject({ id, status: 'discarded', replayedAt: null });
    expect(await auditOf(id)).toEqual([{ action: 'delete', actor: 'admin', filter: null, result: 'discarded (was pending)' }]);
    const replay = await call('POST', `/admin/dlq/${id}/replay`);
    expect(replay.status).toBe(409);
    expect(replay.body).toMatchObject({ error: 'conflict', details: [{ path: 'id', message: 'it was discarded' }] });
    expect((await letter(id)).status).toBe('discarded');
  });

  it('refuses to replay an entry whose record was erased or never held one', async () => {
    const erased = await insertLetter({ error_code: code('ERASED'), status: 'replayed', payload: { erased: true, eventId: randomUUID() } });
    const empty = await insertLetter({ error_code: code('EMPTY'), payload: null });
    const answer = await call('POST', `/admin/dlq/${erased}/replay`);
    expect(answer.status).toBe(409);
    expect(answer.body.message).toMatch(/erased/);
    expect((await call('POST', `/admin/dlq/${empty}/replay`)).status).toBe(409);
    expect((await letter(erased)).replay_result).toBeNull();
  });

  it('replays a poison record the consumers dead-lettered: one record on the retry topic, the entry marked, an audit row', async () => {
    const key = `PNR${randomBytes(4).toString('hex').toUpperCase()}`;
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: `${prefix()}booking-confirmed`, messages: [{ key, value: JSON.stringify({ not: 'an event' }) }] });
    await producer.disconnect();
    // Each channel's group reads booking-confirmed and dead-letters the record on its own.
    const rows = await waitFor('the four channels to dead-letter the poison record', async () => {
      const { rows } = await gateway.pool.query(`SELECT id, channel, error_code FROM dead_letters WHERE original_key = $1 ORDER BY channel`, [key]);
      return rows.length === 4 && rows;
    }, { timeoutMs: 60_000 });
    expect(rows.map((r) => [r.channel, r.error_code])).toEqual([['email', 'EVENT_INVALID'], ['sms', 'EVENT_INVALID'], ['websocket', 'EVENT_INVALID'], ['whatsapp', 'EVENT_INVALID']]);
    const id = Number(rows.find((r) => r.channel === 'sms')!.id);
    const listed = await call('GET', `/admin/dlq?channel=sms&errorCode=EVENT_INVALID`);
    expect(ids(listed)).toContain(id);

    const before = Date.now();
    const answer = await call('POST', `/admin/dlq/${id}/replay`);
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ id, replayedAt: expect.any(String), topic: retryTopic('sms') });

    const [record] = await readRecords(kafka, [retryTopic('sms')], 1);
    expect(await recordCount(retryTopic('sms'))).toBe(1);
    expect(record!.key).toBe(key);
    expect(record!.value).toEqual({ not: 'an event' });
    const headers = record!.message.headers;
    expect(header(headers, 'x-replay-of')).toBe(String(id));
    expect(header(headers, 'x-attempts')).toBe('0');
    expect(header(headers, 'x-original-topic')).toBe(`${prefix()}booking-confirmed`);
    expect(header(headers, 'x-original-key')).toBe(key);
    expect(header(headers, 'x-last-error-code')).toBe('EVENT_INVALID');
    expect(new Date(header(headers, 'x-due-at')!).getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(header(headers, 'x-first-failed-at')).toBeDefined();
    expect(header(headers, 'x-user-id')).toBeUndefined(); // a poison record names no one: every recipient is tried again

    const row = await letter(id);
    expect(row.status).toBe('replayed');
    expect(row.replayed_at.toISOString()).toBe(answer.body.replayedAt);
    expect(row.replay_result).toMatch(new RegExp(`^republished to ${retryTopic('sms').replaceAll('.', '\\.')} partition \\d+ offset \\d+$`));
    expect(await auditOf(id)).toEqual([{ action: 'replay', actor: 'admin', filter: null, result: row.replay_result }]);
    // The other channels' entries were not touched.
    const others = await gateway.pool.query(`SELECT status FROM dead_letters WHERE original_key = $1 AND channel <> 'sms'`, [key]);
    expect(others.rows.map((r) => r.status)).toEqual(['pending', 'pending', 'pending']);
  });

  it('dry-runs a bulk replay: counts what would go, changes nothing', async () => {
    const errorCode = code('DRYRUN');
    const pending = [await insertLetter({ error_code: errorCode }), await insertLetter({ error_code: errorCode, channel: 'sms' })];
    const replayed = await insertLetter({ error_code: errorCode, status: 'replayed' });
    const discarded = await insertLetter({ error_code: errorCode, status: 'discarded' });
    const before = (await gateway.pool.query(`SELECT * FROM dead_letters WHERE error_code = $1 ORDER BY id`, [errorCode])).rows;

    const answer = await call('POST', '/admin/dlq/replay', { body: { filter: { errorCode }, dryRun: true } });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ matched: 2 });
    expect((await call('POST', '/admin/dlq/replay', { body: { filter: { errorCode, channel: 'sms' }, dryRun: true } })).body).toEqual({ matched: 1 });
    expect((await call('POST', '/admin/dlq/replay', { body: { filter: { errorCode, status: 'replayed' }, dryRun: true } })).body).toEqual({ matched: 1 });

    expect((await gateway.pool.query(`SELECT * FROM dead_letters WHERE error_code = $1 ORDER BY id`, [errorCode])).rows).toEqual(before);
    for (const id of [...pending, replayed, discarded]) expect(await auditOf(id)).toEqual([]);
    const { rows: audit } = await gateway.pool.query(
      `SELECT dead_letter_id, action, actor, filter, result FROM dead_letter_audit WHERE filter->>'errorCode' = $1 ORDER BY id`, [errorCode]);
    expect(audit[0]).toEqual({ dead_letter_id: null, action: 'replay_dry_run', actor: 'admin', filter: { errorCode, status: 'pending' }, result: 'matched 2' });
    expect(audit).toHaveLength(3);
  });

  it('replays every entry a filter selects, oldest first: each marked and audited, erased and discarded ones left alone', async () => {
    const errorCode = code('BULK');
    const eventId = randomUUID();
    const named = await insertLetter({
      channel: 'whatsapp', error_code: errorCode, event_id: eventId, user_id: 'u-7', idempotency_key: `${eventId}:whatsapp:u-7`, original_key: 'PNRBULK01',
    });
    const raw = await insertLetter({ channel: 'whatsapp', error_code: errorCode, event_type: null, event_id: null, payload: { unparsed: 'not json, \u00e9 bytes' } });
    const third = await insertLetter({ channel: 'whatsapp', error_code: errorCode });
    const erased = await insertLetter({ channel: 'whatsapp', error_code: errorCode, payload: { erased: true } });
    const discarded = await insertLetter({ channel: 'whatsapp', error_code: errorCode, status: 'discarded' });
    const elsewhere = await insertLetter({ channel: 'email', error_code: errorCode });

    const answer = await call('POST', '/admin/dlq/replay', { body: { filter: { channel: 'whatsapp', errorCode }, limit: 1000 } });
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ matched: 3, replayed: 3, failed: 0 });

    // Different keys land on different partitions, so the records are sorted here; the order they went in shows in replayed_at.
    const records = (await readRaw(retryTopic('whatsapp'), 3)).sort((a, b) => Number(header(a.headers, 'x-replay-of')) - Number(header(b.headers, 'x-replay-of')));
    expect(await recordCount(retryTopic('whatsapp'))).toBe(3);
    expect(records.map((r) => header(r.headers, 'x-replay-of'))).toEqual([String(named), String(raw), String(third)]);
    expect(records[0]).toMatchObject({ key: 'PNRBULK01' });
    expect(JSON.parse(records[0]!.value)).toMatchObject({ eventId, eventType: 'BOOKING_CONFIRMED' });
    expect(header(records[0]!.headers, 'x-user-id')).toBe('u-7');
    expect(header(records[0]!.headers, 'x-idempotency-key')).toBe(`${eventId}:whatsapp:u-7`);
    expect(records[1]!.value).toBe('not json, \u00e9 bytes'); // the text the consumer refused, as it was
    expect(header(records[1]!.headers, 'x-idempotency-key')).toBeUndefined();

    const times: number[] = [];
    for (const id of [named, raw, third]) {
      const row = await letter(id);
      times.push(row.replayed_at.getTime());
      expect(row.status).toBe('replayed');
      expect(row.replayed_at).toBeInstanceOf(Date);
      expect(await auditOf(id)).toEqual([{ action: 'replay', actor: 'admin', filter: { channel: 'whatsapp', errorCode, status: 'pending' }, result: row.replay_result }]);
    }
    expect([...times].sort((a, b) => a - b)).toEqual(times); // oldest first
    for (const id of [erased, discarded, elsewhere]) {
      expect((await letter(id)).replayed_at).toBeNull();
      expect(await auditOf(id)).toEqual([]);
    }
    // Nothing pending is left, so the same call again finds nothing.
    expect((await call('POST', '/admin/dlq/replay', { body: { filter: { channel: 'whatsapp', errorCode } } })).body).toEqual({ matched: 0, replayed: 0, failed: 0 });
  });

  it('takes a limit: the oldest go first, the rest stay pending for the next call', async () => {
    const errorCode = code('LIMIT');
    const made = [await insertLetter({ error_code: errorCode }), await insertLetter({ error_code: errorCode }), await insertLetter({ error_code: errorCode })];
    const first = await call('POST', '/admin/dlq/replay', { body: { filter: { errorCode }, limit: 2 } });
    expect(first.body).toEqual({ matched: 3, replayed: 2, failed: 0 });
    expect((await Promise.all(made.map(letter))).map((r) => r.status)).toEqual(['replayed', 'replayed', 'pending']);
    expect((await call('POST', '/admin/dlq/replay', { body: { filter: { errorCode }, limit: 2 } })).body).toEqual({ matched: 1, replayed: 1, failed: 0 });
  });

  /** Whether the channel's retry group has read (and committed) every record on its first retry topic. */
  async function retryGroupCaughtUp(channel: Channel): Promise<boolean> {
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    try {
      const group = { groupId: `${prefix()}${retryGroupOf(channel)}` };
      const offsets = await kafkaAdmin.fetchTopicOffsets(retryTopic(channel));
      const [committed] = await kafkaAdmin.fetchOffsets({ groupId: group.groupId, topics: [retryTopic(channel)] });
      // -1: nothing committed, which is caught up only on a partition that never held a record.
      const done = (p: { partition: number; low: string }) => Math.max(Number(committed?.partitions.find((c) => c.partition === p.partition)?.offset ?? -1), Number(p.low));
      return offsets.every((p) => done(p) >= Number(p.high));
    } finally {
      await kafkaAdmin.disconnect();
    }
  }

  // Fault 6: the retry group reads the replay, and the ledger lets a replay (x-replay-of) take over the dead-lettered
  // delivery once; a second replay finds it sent.
  it('replays an SMS the sandbox refused, once the cause is fixed: delivered once, and a second replay sends nothing', async () => {
    const userId = `dlq-${randomBytes(3).toString('hex')}`;
    const phone = uniquePhone();
    const smsTo = () => gateway.sandbox.store.list((m) => m.to === phone);
    // A cancellation goes by email, SMS and the web, not WhatsApp: the one armed failure can only meet the SMS.
    gateway.sandbox.faults.set({ failNext: { code: 21211, to: phone } });
    const { eventId } = await gateway.producer.publish(bookingConfirmed({
      eventId: undefined, eventType: 'BOOKING_CANCELLED', bookingStatus: 'CANCELLED', pnrNumber: `PNR${randomBytes(3).toString('hex').toUpperCase()}`,
      userId, userEmail: uniqueEmail('dlq'), userPhone: phone, userName: 'Rita Replay',
    }));
    const row = await waitFor('the refused SMS to be dead-lettered', async () =>
      (await gateway.pool.query(`SELECT id, idempotency_key, error_code FROM dead_letters WHERE channel = 'sms' AND user_id = $1`, [userId])).rows[0],
      { timeoutMs: 60_000 });
    expect(row).toMatchObject({ idempotency_key: `${eventId}:sms:${userId}`, error_code: 'TWILIO_21211' });
    expect(smsTo()).toHaveLength(0);
    gateway.sandbox.faults.clear(); // the cause is fixed

    expect((await call('POST', `/admin/dlq/${row.id}/replay`)).status).toBe(202);
    await waitFor('the replayed SMS', () => smsTo().length === 1, { timeoutMs: 60_000 });
    expect((await call('POST', `/admin/dlq/${row.id}/replay`)).status).toBe(202);
    await waitFor('the retry group to read the second replay', () => retryGroupCaughtUp('sms'), { timeoutMs: 60_000 });
    expect(smsTo()).toHaveLength(1);
    const { rows: deliveries } = await gateway.pool.query(`SELECT status FROM deliveries WHERE idempotency_key = $1`, [row.idempotency_key]);
    expect(deliveries).toHaveLength(1);
    expect(await auditOf(Number(row.id))).toHaveLength(2);
  });
});
