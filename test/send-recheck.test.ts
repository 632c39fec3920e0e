import { randomBytes, randomUUID } from 'node:crypto';
import { fieldCipherOf } from '../src/util/field-cipher.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSendRate } from '../src/channels/send-rate.js';
import { createTwilioChannel } from '../src/channels/twilio.channel.js';
import { createWebsocketChannel } from '../src/channels/websocket.channel.js';
import { createDeliveryPipeline } from '../src/consumers/delivery.pipeline.js';
import { parseEvent, type GatewayEvent } from '../src/events/index.js';
import { createMetrics } from '../src/metrics.js';
import { createInboxRepository } from '../src/store/inbox.repository.js';
import { createTemplateRenderer } from '../src/templates/renderer.js';
import { flightDelay } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { testLogger } from './helpers/kafka.js';
import { unchangedFor, waitFor } from './helpers/wait-for.js';

interface LedgerRow {
  user_id: string;
  status: string;
  error_code: string | null;
  error_message: string | null;
  recipient: string | null;
  body: string | null;
}

/**
 * A send may wait a long time for its sender's turn (one SMS a second here, so the fifth waits five seconds): what was
 * true when it was claimed is asked again once the turn comes, and what is no longer true is not sent.
 */
describe('a send checks again once its turn comes', () => {
  let gateway: Gateway;
  const run = randomBytes(2).toString('hex');
  // A sender of this file only: the send-rate windows are in Redis, keyed by sender.
  const smsFrom = `+1500${String(randomBytes(3).readUIntBE(0, 3) % 10_000_000).padStart(7, '0')}`;

  const ledger = async (eventId: string, channel = 'sms') => {
    const { rows } = await gateway.pool.query<LedgerRow>(
      `SELECT user_id, status, error_code, error_message, recipient, body FROM deliveries
        WHERE event_id = $1 AND channel = $2 ORDER BY user_id`,
      [eventId, channel],
    );
    return rows;
  };
  const textsTo = (phone: string) => gateway.sandbox.store.list((m) => m.to === phone);

  /** Travellers on one flight, named so that they are sent to in this order (recipients are paged by userId). */
  async function travellersOn(flight: string, labels: string[]) {
    const people = labels.map((label, i) => ({
      userId: `rc-${run}-${i}-${label}`,
      email: uniqueEmail(label),
      phone: uniquePhone(),
    }));
    for (const who of people) {
      await gateway.preferences.update(who.userId, {
        email: who.email,
        phone: who.phone,
        channels: { whatsapp: false },
      });
      await gateway.itineraries.add({ userId: who.userId, vehicleKind: 'flight', vehicleNumber: flight });
    }
    return people;
  }

  /** Every SMS of the event claimed: each traveller's send was decided and now waits for its turn. */
  const allClaimed = (eventId: string, count: number) =>
    waitFor(`${count} SMS claimed`, async () => (await ledger(eventId)).length === count, { intervalMs: 20 });
  const allSettled = (eventId: string, count: number) =>
    waitFor(
      'every SMS settled',
      async () => {
        const rows = await ledger(eventId);
        return rows.length === count && rows.every((r) => r.status !== 'sending') && rows;
      },
      { timeoutMs: 40_000 },
    );

  beforeAll(async () => {
    gateway = await startGateway('send-recheck', {
      // One fan-out part: a disruption's travellers are sent to in user id order, so whose turn comes late is known.
      env: { SMS_SENDS_PER_SECOND: '1', TWILIO_SMS_FROM: smsFrom, FAN_OUT_PARTS: '1' },
    });
  });
  afterAll(() => gateway?.close());

  it('sends nothing to a person erased, or a number that sent STOP, while their SMS waited', async () => {
    const flight = `E${run.toUpperCase()}`;
    const people = await travellersOn(flight, ['a', 'b', 'c', 'erased', 'stopped']);
    const [erased, stopped] = [people[3]!, people[4]!];
    const eventId = randomUUID();
    await gateway.producer.publish(flightDelay({ eventId, flightNumber: flight, payload: { minutes: 45 } }));
    await allClaimed(eventId, people.length);

    const erasure = await fetch(`${gateway.apiUrl}/users/${erased.userId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${gateway.config.ADMIN_TOKEN}` },
    });
    expect(erasure.status).toBe(202);
    const stop = await fetch(`${gateway.config.TWILIO_API_BASE_URL}/sandbox/inbound`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: stopped.phone, body: 'STOP' }),
    });
    expect(stop.status).toBe(200);

    const rows = await allSettled(eventId, people.length);
    for (const who of people.slice(0, 3)) expect(textsTo(who.phone)).toHaveLength(1);
    expect(textsTo(erased.phone)).toEqual([]);
    expect(textsTo(stopped.phone)).toEqual([]);
    const row = (userId: string) => rows.find((r) => r.user_id === userId)!;
    expect(row(erased.userId)).toMatchObject({ status: 'skipped', error_code: 'ERASED', recipient: null, body: null });
    expect(row(stopped.userId)).toMatchObject({ status: 'skipped', error_code: 'OPTED_OUT' });
    // Nothing of the erased person came back on any channel.
    const { rows: kept } = await gateway.pool.query(
      `SELECT channel FROM deliveries WHERE user_id = $1 AND (recipient IS NOT NULL OR body IS NOT NULL)
        UNION ALL SELECT 'inbox' FROM inbox WHERE user_id = $1`,
      [erased.userId],
    );
    expect(kept).toEqual([]);
  });

  it('sends the newer notice instead of an older one still waiting for its turn', async () => {
    const flight = `N${run.toUpperCase()}`;
    const people = await travellersOn(flight, ['a', 'b', 'c', 'd', 'e', 'f']);
    const older = randomUUID();
    await gateway.producer.publish(
      flightDelay({ eventId: older, flightNumber: flight, payload: { minutes: 30, reason: 'crew' } }),
    );
    await allClaimed(older, people.length);
    const newer = randomUUID();
    await gateway.producer.publish(
      flightDelay({
        eventId: newer,
        eventTimestamp: new Date(Date.now() + 1_000).toISOString(),
        flightNumber: flight,
        payload: { minutes: 90, reason: 'crew' },
      }),
    );

    const olderRows = await allSettled(older, people.length);
    await allSettled(newer, people.length);
    await unchangedFor('no late copy', () => people.map((p) => textsTo(p.phone).length), 1_500);
    // Those whose turn came after the newer notice was known got the newer one only.
    for (const who of people.slice(-2)) {
      expect(olderRows.find((r) => r.user_id === who.userId)).toMatchObject({
        status: 'superseded',
        error_message: `replaced by the newer notice ${newer}`,
      });
      expect(textsTo(who.phone).map((m) => m.body)).toEqual([expect.stringContaining(NEWER)]);
    }
    // Everyone got the newer notice once; none got the older one after it.
    for (const who of people) {
      const bodies = textsTo(who.phone).map((m) => m.body);
      expect(bodies.filter((b) => b.includes(NEWER))).toHaveLength(1);
      expect(bodies.at(-1)).toContain(NEWER);
    }
  });

  it('records expired, and never sends, a notice whose use ended while its SMS waited', async () => {
    const flight = `X${run.toUpperCase()}`;
    const people = await travellersOn(flight, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    // Of use for six more seconds (a flight delay's grace is 30 minutes after the departure); the last two turns come
    // 7.5 s and more after the first.
    const departure = new Date(Date.now() + 6_000 - 30 * 60_000);
    const eventId = randomUUID();
    await gateway.producer.publish(
      flightDelay({ eventId, flightNumber: flight, departureTime: departure.toISOString(), payload: { minutes: 20 } }),
    );
    const rows = await allSettled(eventId, people.length);
    expect(textsTo(people[0]!.phone)).toHaveLength(1);
    for (const who of people.slice(-2)) {
      expect(rows.find((r) => r.user_id === who.userId)).toMatchObject({
        status: 'expired',
        error_message: expect.stringMatching(/^of no use after /),
      });
      expect(textsTo(who.phone)).toEqual([]);
    }
  });

  it('keeps no inbox row, address or body for a person erased after their live alert was decided', async () => {
    const userId = `rc-${run}-ws`;
    const event = parsed(flightDelay({ eventId: randomUUID(), flightNumber: `W${run.toUpperCase()}` }));
    await gateway.preferences.update(userId, { email: uniqueEmail('ws'), phone: uniquePhone() });
    // The profile as the recipient look-up found it, before the erasure.
    const profile = (await gateway.preferences.get(userId))!;
    const erasure = await fetch(`${gateway.apiUrl}/users/${userId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${gateway.config.ADMIN_TOKEN}` },
    });
    expect(erasure.status).toBe(202);

    const redis = new Redis(gateway.config.REDIS_URL);
    const adapter = createWebsocketChannel({
      pool: gateway.pool,
      redis,
      cipher: fieldCipherOf(gateway.config),
      logger: testLogger,
    });
    try {
      const deliverTo = createDeliveryPipeline({
        channel: 'websocket',
        adapter,
        renderer: createTemplateRenderer(),
        deliveries: gateway.deliveries,
        metrics: createMetrics(),
      });
      expect(await deliverTo(event, profile)).toEqual({ kind: 'done' });
    } finally {
      await adapter.close();
      redis.disconnect();
    }
    expect(
      await createInboxRepository(gateway.pool, fieldCipherOf(gateway.config)).latest({ userId, limit: 10 }),
    ).toEqual([]);
    expect(await ledger(event.eventId, 'websocket')).toEqual([
      expect.objectContaining({ status: 'skipped', error_code: 'ERASED', recipient: null, body: null }),
    ]);
  });

  it("never writes an erased person's address or body into the ledger, whoever records the send", async () => {
    const userId = `rc-${run}-ledger`;
    const event = parsed(flightDelay({ eventId: randomUUID(), flightNumber: `L${run.toUpperCase()}` }));
    const claim = await gateway.deliveries.claim({
      eventId: event.eventId,
      eventType: event.eventType,
      channel: 'sms',
      userId,
    });
    if (!claim.claimed) throw new Error('the delivery should have been claimed');
    const erasure = await fetch(`${gateway.apiUrl}/users/${userId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${gateway.config.ADMIN_TOKEN}` },
    });
    expect(erasure.status).toBe(202);

    // The provider took it just before the erasure; the send is recorded just after.
    const phone = uniquePhone();
    await gateway.deliveries.markSent(claim.id, {
      providerId: `SM${run}`,
      status: 'queued',
      recipient: phone,
      body: 'x',
    });
    expect(await ledger(event.eventId)).toEqual([
      expect.objectContaining({ status: 'queued', recipient: null, body: null }),
    ]);
  });
});

describe("a slow look again does not crowd the sender's rate", () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway('send-recheck-rate');
  });
  afterAll(() => gateway?.close());

  it('keeps every second within the rate when one look takes longer than the margin allows', async () => {
    const rate = 4;
    const from = `+1500${String(randomBytes(3).readUIntBE(0, 3) % 10_000_000).padStart(7, '0')}`;
    const redis = new Redis(gateway.config.REDIS_URL);
    const stopping = new AbortController();
    const sms = withSendRate(
      createTwilioChannel({
        channel: 'sms',
        accountSid: gateway.config.TWILIO_ACCOUNT_SID,
        authToken: gateway.config.TWILIO_AUTH_TOKEN,
        baseUrl: gateway.config.TWILIO_API_BASE_URL,
        from,
      }),
      { sender: from, perSecond: rate, redis, marginMs: 250, signal: stopping.signal },
    );
    try {
      // The second send's look takes 700 ms (a busy database): going straight after it, it would land between the
      // turns of the sends queued behind it, five in one second.
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => {
          const to = uniquePhone();
          const eventId = randomUUID();
          const beforeSend = () => (i === 1 ? sleep(700) : Promise.resolve());
          return sms.send(
            {
              channel: 'sms',
              to,
              userId: `rc-rate-${i}`,
              eventId,
              eventType: 'TRAVEL_DISRUPTION',
              idempotencyKey: `${eventId}:sms:rc-rate-${i}`,
              text: `look again ${i}`,
            },
            { beforeSend },
          );
        }),
      );
    } finally {
      stopping.abort();
      await sms.close();
      redis.disconnect();
    }
    const times = gateway.sandbox.store.list((m) => m.from === from).map((m) => m.dateCreated.getTime());
    expect(times).toHaveLength(10);
    expect(busiestSecond(times)).toBeLessThanOrEqual(rate);
  });
});

/** The most sends that fell in any one second: every window [t, t + 1 s) starting at a send. */
function busiestSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let start = 0, end = 0; start < sorted.length; start += 1) {
    while (end < sorted.length && sorted[end]! < sorted[start]! + 1_000) end += 1;
    most = Math.max(most, end - start);
  }
  return most;
}

const NEWER = 'is delayed by 90 minutes';

function parsed(input: unknown): GatewayEvent {
  const result = parseEvent(input);
  if (!result.ok) throw new Error('fixture event does not parse');
  return result.event;
}
