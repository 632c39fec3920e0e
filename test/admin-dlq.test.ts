import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterFixtures, type Answer } from './helpers/dead-letter-fixtures.js';
import type { Gateway } from './helpers/full-gateway.js';

// Replays (one, bulk, and fault test 6) are in admin-dlq-replay.test.ts; this file is the rest of the API surface.
describe('the dead-letter admin API', () => {
  const dlq = deadLetterFixtures('admin-dlq');
  const { prefix, code, call, insertLetter, letter, auditOf, ids } = dlq;
  let gateway: Gateway;
  let admin: string;
  beforeAll(async () => {
    gateway = await dlq.start();
    admin = gateway.config.ADMIN_TOKEN;
  });
  afterAll(() => dlq.close());

  it('lists exactly the entries each filter selects, newest first', async () => {
    await gateway.pool.query(`DELETE FROM dead_letters`); // the test's own database: start from a known set
    const made = {
      emailConfirmed: await insertLetter({ channel: 'email', event_type: 'BOOKING_CONFIRMED', error_code: 'SMTP_550' }),
      smsConfirmed: await insertLetter({ channel: 'sms', event_type: 'BOOKING_CONFIRMED', error_code: 'TWILIO_21211' }),
      smsCancelled: await insertLetter({
        channel: 'sms',
        event_type: 'BOOKING_CANCELLED',
        error_code: 'TWILIO_21211',
        status: 'replayed',
      }),
      whatsappDisruption: await insertLetter({
        channel: 'whatsapp',
        event_type: 'TRAVEL_DISRUPTION',
        error_code: 'TWILIO_63016',
      }),
      websocketPayment: await insertLetter({
        channel: 'websocket',
        event_type: 'PAYMENT_COMPLETED',
        error_code: 'INVALID_MESSAGE',
        status: 'discarded',
      }),
      emailPoison: await insertLetter({
        channel: 'email',
        event_type: null,
        error_code: 'NOT_JSON',
        payload: { unparsed: 'garbage' },
      }),
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
    await expectIds('?status=pending', [
      made.emailConfirmed,
      made.smsConfirmed,
      made.whatsappDisruption,
      made.emailPoison,
    ]);
    await expectIds('?status=replayed', [made.smsCancelled]);
    await expectIds('?status=discarded', [made.websocketPayment]);
    await expectIds('?channel=sms&status=pending&errorCode=TWILIO_21211&eventType=BOOKING_CONFIRMED', [
      made.smsConfirmed,
    ]);

    const [first] = (await call('GET', '/admin/dlq?channel=whatsapp')).body.items;
    expect(first).toMatchObject({
      id: made.whatsappDisruption,
      channel: 'whatsapp',
      eventType: 'TRAVEL_DISRUPTION',
      errorCode: 'TWILIO_63016',
      errorClass: 'permanent',
      status: 'pending',
      replayedAt: null,
      original: { topic: `${prefix()}booking-confirmed`, partition: 0, offset: '7', key: 'PNR1234567' },
    });
  });

  it('wants the admin token: none → 401, another → 403, before looking at the request', async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/admin/dlq'],
      ['GET', '/admin/dlq/1'],
      ['POST', '/admin/dlq/1/replay'],
      ['POST', '/admin/dlq/replay', { filter: {}, dryRun: true }],
      ['DELETE', '/admin/dlq/1'],
    ];
    for (const [method, path, body] of routes) {
      const none = await call(method, path, { token: null, body });
      expect(none.status, `${method} ${path}`).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect(none.body).toMatchObject({
        error: 'unauthorized',
        details: [{ path: 'authorization', message: 'required' }],
      });
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
      ['?channel=fax', 'channel'],
      ['?eventType=BOOKING', 'eventType'],
      ['?status=done', 'status'],
      ['?errorCode=', 'errorCode'],
      ['?errorCode=a%20b', 'errorCode'],
      ['?limit=0', 'limit'],
      ['?limit=201', 'limit'],
      ['?limit=ten', 'limit'],
      ['?cursor=bm90LWFuLWlk', 'cursor'],
      ['?cursor=!!', 'cursor'],
      ['?chanel=sms', 'chanel'],
      ['?channel=sms&channel=email', 'channel'],
    ];
    for (const [query, field] of cases) {
      const answer = await call('GET', `/admin/dlq${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error).toBe('bad_request');
      expect(
        answer.body.details.map((d: { path: string }) => d.path),
        query,
      ).toEqual([field]);
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
      [{ filter: { channel: 'fax' } }, 'filter.channel'],
      [{ filter: { status: 'discarded' } }, 'filter.status'],
      [{ filter: { eventType: 'X' } }, 'filter.eventType'],
      [{ filter: {}, limit: 5000 }, 'limit'],
      [{ filter: {}, limit: 0 }, 'limit'],
      [{ filter: {}, dryRun: 'yes' }, 'dryRun'],
      [{ dryRun: true }, 'filter'],
      [{ filter: {}, dryrun: true }, 'dryrun'],
      [{ filter: { chanel: 'sms' } }, 'filter.chanel'],
      [[], 'body'],
    ];
    for (const [body, field] of bodies) {
      const answer = await call('POST', '/admin/dlq/replay', { body });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(
        answer.body.details.map((d: { path: string }) => d.path),
        JSON.stringify(body),
      ).toEqual([field]);
    }
    expect((await call('POST', '/admin/dlq/replay')).status).toBe(400);
  });

  it('pages by cursor: every entry once, newest first', async () => {
    const errorCode = code('PAGING');
    const made: number[] = [];
    for (let i = 0; i < 25; i += 1)
      made.push(await insertLetter({ error_code: errorCode, channel: i % 2 ? 'sms' : 'email' }));
    const seen: number[] = [];
    const pages: number[] = [];
    let cursor: string | null = null;
    do {
      const answer: Answer = await call(
        'GET',
        `/admin/dlq?errorCode=${errorCode}&limit=10${cursor ? `&cursor=${cursor}` : ''}`,
      );
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
    const id = await insertLetter({
      channel: 'sms',
      event_id: eventId,
      user_id: 'u-42',
      idempotency_key: `${eventId}:sms:u-42`,
      error_code: 'TWILIO_21211',
    });
    const answer = await call('GET', `/admin/dlq/${id}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      id,
      channel: 'sms',
      eventId,
      eventType: 'BOOKING_CONFIRMED',
      userId: 'u-42',
      idempotencyKey: `${eventId}:sms:u-42`,
      errorCode: 'TWILIO_21211',
      status: 'pending',
      payload: { eventId, pnrNumber: '1234567890' },
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
    expect(await auditOf(id)).toEqual([
      { action: 'delete', actor: 'admin', filter: null, result: 'discarded (was pending)' },
    ]);
    const replay = await call('POST', `/admin/dlq/${id}/replay`);
    expect(replay.status).toBe(409);
    expect(replay.body).toMatchObject({ error: 'conflict', details: [{ path: 'id', message: 'it was discarded' }] });
    expect((await letter(id)).status).toBe('discarded');
  });

  it('refuses to replay an entry whose record was erased or never held one', async () => {
    const erased = await insertLetter({
      error_code: code('ERASED'),
      status: 'replayed',
      payload: { erased: true, eventId: randomUUID() },
    });
    const empty = await insertLetter({ error_code: code('EMPTY'), payload: null });
    const answer = await call('POST', `/admin/dlq/${erased}/replay`);
    expect(answer.status).toBe(409);
    expect(answer.body.message).toMatch(/erased/);
    expect((await call('POST', `/admin/dlq/${empty}/replay`)).status).toBe(409);
    expect((await letter(erased)).replay_result).toBeNull();
  });
});
