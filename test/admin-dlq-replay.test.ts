import { randomBytes, randomUUID } from 'node:crypto';
import type { IHeaders, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryGroupOf } from '../src/kafka/names.js';
import type { Channel } from '../src/events/index.js';
import { createKafka } from '../src/kafka/client.js';
import { bookingConfirmed } from './fixtures/events.js';
import { deadLetterFixtures } from './helpers/dead-letter-fixtures.js';
import { uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { readRecords, testLogger } from './helpers/kafka.js';
import { waitFor } from './helpers/wait-for.js';

// The same describe title as admin-dlq.test.ts, so every test keeps the full name it had before the file was split.
describe('the dead-letter admin API', () => {
  const dlq = deadLetterFixtures('admin-dlq-replay');
  const { prefix, code, call, insertLetter, letter, auditOf, ids } = dlq;
  const retryTopic = (channel: string) => `${prefix()}notifications.${channel}.retry.1`;
  const header = (headers: IHeaders | undefined, name: string) => headers?.[name]?.toString();
  let gateway: Gateway;
  let kafka: Kafka;
  beforeAll(async () => {
    gateway = await dlq.start();
    kafka = createKafka({
      brokers: gateway.config.KAFKA_BROKERS,
      clientId: 'test-admin-dlq-replay',
      logger: testLogger,
    });
  });
  afterAll(() => dlq.close());

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
  async function readRaw(
    topic: string,
    count: number,
  ): Promise<Array<{ key: string; value: string; headers: IHeaders }>> {
    const records: Array<{ key: string; value: string; headers: IHeaders }> = [];
    const consumer = kafka.consumer({ groupId: `${topic}.raw-reader.${randomBytes(3).toString('hex')}` });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          records.push({
            key: message.key?.toString() ?? '',
            value: message.value?.toString() ?? '',
            headers: message.headers ?? {},
          });
        },
      });
      await waitFor(`${count} records on ${topic} (have ${records.length})`, () => records.length >= count, {
        timeoutMs: 60_000,
      });
      return records;
    } finally {
      await consumer.disconnect();
    }
  }

  it('replays a poison record the consumers dead-lettered: one record on the retry topic, the entry marked, an audit row', async () => {
    const key = `PNR${randomBytes(4).toString('hex').toUpperCase()}`;
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: `${prefix()}booking-confirmed`,
      messages: [{ key, value: JSON.stringify({ not: 'an event' }) }],
    });
    await producer.disconnect();
    // Each channel's group reads booking-confirmed and dead-letters the record on its own.
    const rows = await waitFor(
      'the four channels to dead-letter the poison record',
      async () => {
        const { rows } = await gateway.pool.query(
          `SELECT id, channel, error_code FROM dead_letters WHERE original_key = $1 ORDER BY channel`,
          [key],
        );
        return rows.length === 4 && rows;
      },
      { timeoutMs: 60_000 },
    );
    expect(rows.map((r) => [r.channel, r.error_code])).toEqual([
      ['email', 'EVENT_INVALID'],
      ['sms', 'EVENT_INVALID'],
      ['websocket', 'EVENT_INVALID'],
      ['whatsapp', 'EVENT_INVALID'],
    ]);
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
    expect(row.replay_result).toMatch(
      new RegExp(`^republished to ${retryTopic('sms').replaceAll('.', '\\.')} partition \\d+ offset \\d+$`),
    );
    expect(await auditOf(id)).toEqual([{ action: 'replay', actor: 'admin', filter: null, result: row.replay_result }]);
    // The other channels' entries were not touched.
    const others = await gateway.pool.query(
      `SELECT status FROM dead_letters WHERE original_key = $1 AND channel <> 'sms'`,
      [key],
    );
    expect(others.rows.map((r) => r.status)).toEqual(['pending', 'pending', 'pending']);
  });

  it('dry-runs a bulk replay: counts what would go, changes nothing', async () => {
    const errorCode = code('DRYRUN');
    const pending = [
      await insertLetter({ error_code: errorCode }),
      await insertLetter({ error_code: errorCode, channel: 'sms' }),
    ];
    const replayed = await insertLetter({ error_code: errorCode, status: 'replayed' });
    const discarded = await insertLetter({ error_code: errorCode, status: 'discarded' });
    const before = (
      await gateway.pool.query(`SELECT * FROM dead_letters WHERE error_code = $1 ORDER BY id`, [errorCode])
    ).rows;

    const answer = await call('POST', '/admin/dlq/replay', { body: { filter: { errorCode }, dryRun: true } });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ matched: 2 });
    expect(
      (await call('POST', '/admin/dlq/replay', { body: { filter: { errorCode, channel: 'sms' }, dryRun: true } })).body,
    ).toEqual({ matched: 1 });
    expect(
      (await call('POST', '/admin/dlq/replay', { body: { filter: { errorCode, status: 'replayed' }, dryRun: true } }))
        .body,
    ).toEqual({ matched: 1 });

    expect(
      (await gateway.pool.query(`SELECT * FROM dead_letters WHERE error_code = $1 ORDER BY id`, [errorCode])).rows,
    ).toEqual(before);
    for (const id of [...pending, replayed, discarded]) expect(await auditOf(id)).toEqual([]);
    const { rows: audit } = await gateway.pool.query(
      `SELECT dead_letter_id, action, actor, filter, result FROM dead_letter_audit WHERE filter->>'errorCode' = $1 ORDER BY id`,
      [errorCode],
    );
    expect(audit[0]).toEqual({
      dead_letter_id: null,
      action: 'replay_dry_run',
      actor: 'admin',
      filter: { errorCode, status: 'pending' },
      result: 'matched 2',
    });
    expect(audit).toHaveLength(3);
  });

  it('replays every entry a filter selects, oldest first: each marked and audited, erased and discarded ones left alone', async () => {
    const errorCode = code('BULK');
    const eventId = randomUUID();
    const named = await insertLetter({
      channel: 'whatsapp',
      error_code: errorCode,
      event_id: eventId,
      user_id: 'u-7',
      idempotency_key: `${eventId}:whatsapp:u-7`,
      original_key: 'PNRBULK01',
    });
    const raw = await insertLetter({
      channel: 'whatsapp',
      error_code: errorCode,
      event_type: null,
      event_id: null,
      payload: { unparsed: 'not json, \u00e9 bytes' },
    });
    const third = await insertLetter({ channel: 'whatsapp', error_code: errorCode });
    const erased = await insertLetter({ channel: 'whatsapp', error_code: errorCode, payload: { erased: true } });
    const discarded = await insertLetter({ channel: 'whatsapp', error_code: errorCode, status: 'discarded' });
    const elsewhere = await insertLetter({ channel: 'email', error_code: errorCode });

    const answer = await call('POST', '/admin/dlq/replay', {
      body: { filter: { channel: 'whatsapp', errorCode }, limit: 1000 },
    });
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ matched: 3, replayed: 3, failed: 0 });

    // Different keys land on different partitions, so the records are sorted here; the order they went in shows in replayed_at.
    const records = (await readRaw(retryTopic('whatsapp'), 3)).sort(
      (a, b) => Number(header(a.headers, 'x-replay-of')) - Number(header(b.headers, 'x-replay-of')),
    );
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
      expect(await auditOf(id)).toEqual([
        {
          action: 'replay',
          actor: 'admin',
          filter: { channel: 'whatsapp', errorCode, status: 'pending' },
          result: row.replay_result,
        },
      ]);
    }
    expect([...times].sort((a, b) => a - b)).toEqual(times); // oldest first
    for (const id of [erased, discarded, elsewhere]) {
      expect((await letter(id)).replayed_at).toBeNull();
      expect(await auditOf(id)).toEqual([]);
    }
    // Nothing pending is left, so the same call again finds nothing.
    expect(
      (await call('POST', '/admin/dlq/replay', { body: { filter: { channel: 'whatsapp', errorCode } } })).body,
    ).toEqual({ matched: 0, replayed: 0, failed: 0 });
  });

  it('takes a limit: the oldest go first, the rest stay pending for the next call', async () => {
    const errorCode = code('LIMIT');
    const made = [
      await insertLetter({ error_code: errorCode }),
      await insertLetter({ error_code: errorCode }),
      await insertLetter({ error_code: errorCode }),
    ];
    const first = await call('POST', '/admin/dlq/replay', { body: { filter: { errorCode }, limit: 2 } });
    expect(first.body).toEqual({ matched: 3, replayed: 2, failed: 0 });
    expect((await Promise.all(made.map(letter))).map((r) => r.status)).toEqual(['replayed', 'replayed', 'pending']);
    expect((await call('POST', '/admin/dlq/replay', { body: { filter: { errorCode }, limit: 2 } })).body).toEqual({
      matched: 1,
      replayed: 1,
      failed: 0,
    });
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
      const done = (p: { partition: number; low: string }) =>
        Math.max(Number(committed?.partitions.find((c) => c.partition === p.partition)?.offset ?? -1), Number(p.low));
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
    const { eventId } = await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        eventType: 'BOOKING_CANCELLED',
        bookingStatus: 'CANCELLED',
        pnrNumber: `PNR${randomBytes(3).toString('hex').toUpperCase()}`,
        userId,
        userEmail: uniqueEmail('dlq'),
        userPhone: phone,
        userName: 'Rita Replay',
      }),
    );
    const row = await waitFor(
      'the refused SMS to be dead-lettered',
      async () =>
        (
          await gateway.pool.query(
            `SELECT id, idempotency_key, error_code FROM dead_letters WHERE channel = 'sms' AND user_id = $1`,
            [userId],
          )
        ).rows[0],
      { timeoutMs: 60_000 },
    );
    expect(row).toMatchObject({ idempotency_key: `${eventId}:sms:${userId}`, error_code: 'TWILIO_21211' });
    expect(smsTo()).toHaveLength(0);
    gateway.sandbox.faults.clear(); // the cause is fixed

    expect((await call('POST', `/admin/dlq/${row.id}/replay`)).status).toBe(202);
    await waitFor('the replayed SMS', () => smsTo().length === 1, { timeoutMs: 60_000 });
    expect((await call('POST', `/admin/dlq/${row.id}/replay`)).status).toBe(202);
    await waitFor('the retry group to read the second replay', () => retryGroupCaughtUp('sms'), { timeoutMs: 60_000 });
    expect(smsTo()).toHaveLength(1);
    const { rows: deliveries } = await gateway.pool.query(`SELECT status FROM deliveries WHERE idempotency_key = $1`, [
      row.idempotency_key,
    ]);
    expect(deliveries).toHaveLength(1);
    expect(await auditOf(Number(row.id))).toHaveLength(2);
  });
});
