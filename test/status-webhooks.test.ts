import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingConfirmed, flightDelay } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { INGEST_HEADERS } from './helpers/gateway.js';
import { emailsTo } from './helpers/maildev.js';
import { waitFor, unchangedFor } from './helpers/wait-for.js';
import { startWebhookReceiver, type ReceivedNotice } from './helpers/webhook-receiver.js';

const OTHER_KEY = `partner-b-${randomBytes(8).toString('hex')}`;
const ADMIN = { authorization: 'Bearer dev-admin-token' };
const EXPECTED = {
  email: ['sent'],
  sms: ['sent', 'delivered'],
  whatsapp: ['sent', 'delivered'],
  websocket: ['delivered'],
};

type Receiver = Awaited<ReturnType<typeof startWebhookReceiver>>;

/** A receiver's own check, as Standard Webhooks documents it, written out: HMAC-SHA256 over id, timestamp and body. */
function signatureHolds(secret: string, received: ReceivedNotice): boolean {
  // A secret of the gateway's making is base64 after `whsec_`; one the operator brought is its own bytes.
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret);
  const signed = `${String(received.headers['webhook-id'])}.${String(received.headers['webhook-timestamp'])}.${received.body}`;
  const expected = createHmac('sha256', key).update(signed).digest('base64');
  return String(received.headers['webhook-signature']).split(' ').includes(`v1,${expected}`);
}

describe('delivery status webhooks', () => {
  let gateway: Gateway;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    gateway = await startGateway('status-webhooks', {
      env: { INGEST_API_KEYS: `dev-ingest-key,${OTHER_KEY}`, WEBHOOK_RETRY_DELAY_SECONDS: '1' },
    });
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
    await receiver?.close();
  }, 60_000);

  async function register(body: Record<string, unknown>) {
    return fetch(`${gateway.apiUrl}/admin/webhooks`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  async function book(
    apiKey: string,
    traveller: { userId: string; email: string; phone: string },
    overrides: Record<string, unknown> = {},
  ) {
    const event = bookingConfirmed({
      eventId: randomUUID(),
      pnrNumber: String(Date.now()).slice(-10),
      userId: traveller.userId,
      userEmail: traveller.email,
      userPhone: traveller.phone,
      ...overrides,
    });
    const answer = await fetch(`${gateway.apiUrl}/events`, {
      method: 'POST',
      headers: { ...INGEST_HEADERS, 'x-api-key': apiKey },
      body: JSON.stringify(event),
    });
    expect(answer.status).toBe(202);
    return event.eventId as string;
  }

  const traveller = (name: string) => ({
    userId: `hook-${name}-${randomBytes(3).toString('hex')}`,
    email: uniqueEmail(name),
    phone: uniquePhone(),
  });

  /** channel → the statuses its receiver was told of for this event, in the order they happened. */
  const statusesOf = (eventId: string) => {
    const byChannel: Record<string, string[]> = {};
    const notices = receiver
      .accepted()
      .filter((r) => r.notice.data.eventId === eventId)
      .sort((a, b) => String(a.notice.data.occurredAt).localeCompare(String(b.notice.data.occurredAt)));
    for (const { notice } of notices) (byChannel[String(notice.data.channel)] ??= []).push(String(notice.data.status));
    return byChannel;
  };

  /** Until the receiver has taken as many statuses per channel as EXPECTED lists (which ones is asserted after). */
  const waitForEveryStatus = (eventId: string, when: string) =>
    waitFor(
      `every status of the booking ${when}`,
      () => {
        const got = statusesOf(eventId);
        return Object.entries(EXPECTED).every(([channel, statuses]) => (got[channel] ?? []).length >= statuses.length);
      },
      { timeoutMs: 60_000 },
    );

  it('refuses a webhook it could not use, naming the field, and never shows the secret again', async () => {
    const noToken = await fetch(`${gateway.apiUrl}/admin/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: 'dev-ingest-key', url: receiver.url }),
    });
    expect(noToken.status).toBe(401);

    const cases: Array<[Record<string, unknown>, string]> = [
      [{ apiKey: 'not-a-key', url: receiver.url }, 'apiKey'],
      [{ apiKey: 'dev-ingest-key', url: 'ftp://example.com/x' }, 'url'],
      [{ apiKey: 'dev-ingest-key', url: 'https://user:pw@example.com/x' }, 'url'],
      [{ apiKey: 'dev-ingest-key', url: 'https://user@example.com/x' }, 'url'],
      [{ apiKey: 'dev-ingest-key', url: 'https://:hook-password@example.com/x' }, 'url'],
      [{ apiKey: 'dev-ingest-key', url: 'https://@example.com/x' }, 'url'],
      [{ apiKey: 'dev-ingest-key', url: receiver.url, statuses: ['opened'] }, 'statuses.0'],
      [{ apiKey: 'dev-ingest-key', url: receiver.url, colour: 'red' }, 'colour'],
      [{ apiKey: 'dev-ingest-key', url: receiver.url, secret: 'too-short' }, 'secret'],
      [{ apiKey: 'dev-ingest-key', url: receiver.url, secret: 'whsec_not base64!' }, 'secret'],
    ];
    for (const [body, path] of cases) {
      const answer = await register(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      const refusal = (await answer.json()) as { details: Array<{ path: string }> };
      expect(refusal.details.map((d) => d.path)).toContain(path);
    }

    const made = await register({ apiKey: 'dev-ingest-key', url: `${receiver.url}?probe`, statuses: ['sent'] });
    expect(made.status).toBe(201);
    const webhook = (await made.json()) as { id: number; secret: string; apiKey: string };
    expect(webhook.secret).toMatch(/^whsec_/);
    expect(webhook.apiKey).not.toContain('dev-ingest');
    const listed = await (await fetch(`${gateway.apiUrl}/admin/webhooks`, { headers: ADMIN })).text();
    expect(listed).toContain(`${receiver.url}?probe`);
    // A refused URL's password was never stored, so no listing can show it.
    expect(listed).not.toContain('hook-password');
    expect(listed).not.toContain(webhook.secret);
    expect(listed).not.toContain('dev-ingest-key');
    const removed = await fetch(`${gateway.apiUrl}/admin/webhooks/${webhook.id}`, { method: 'DELETE', headers: ADMIN });
    expect(removed.status).toBe(204);
    expect((await fetch(`${gateway.apiUrl}/admin/webhooks/${webhook.id}`, { headers: ADMIN })).status).toBe(404);
  });

  describe('with a webhook for one key', () => {
    let secret: string;
    let webhookId: number;
    beforeAll(async () => {
      const made = await register({ apiKey: 'dev-ingest-key', url: receiver.url });
      expect(made.status).toBe(201);
      ({ secret, id: webhookId } = (await made.json()) as { secret: string; id: number });
    });

    it("posts exactly the key's statuses, each signed over its timestamp and body, and nothing of another key's events", async () => {
      const mine = traveller('mine');
      const theirs = traveller('theirs');
      const eventId = await book('dev-ingest-key', mine);
      const otherEventId = await book(OTHER_KEY, theirs);

      await waitForEveryStatus(eventId, 'at the receiver');
      await waitFor("the other key's booking email", async () => (await emailsTo(theirs.email)).length === 1, {
        timeoutMs: 30_000,
      });
      // Nothing more arrives: no second copy of a status, nothing of the other key's event.
      await unchangedFor('the notices received', () => receiver.received.length, 3_000);
      expect(statusesOf(eventId)).toEqual(EXPECTED);

      // Signed with the secret, which the database holds only sealed with the data keys.
      const stored = await gateway.pool.query<{ secret: string }>('SELECT secret FROM status_webhooks WHERE id = $1', [
        webhookId,
      ]);
      expect(stored.rows[0]!.secret).toMatch(/^enc:v1:/);
      expect(stored.rows[0]!.secret).not.toContain(secret.slice('whsec_'.length, 24));
      const notices = receiver.accepted().filter((r) => r.notice.data.eventId === eventId);
      for (const received of notices) {
        expect(signatureHolds(secret, received)).toBe(true);
        expect(() =>
          new Webhook(secret).verify(received.body, received.headers as Record<string, string>),
        ).not.toThrow();
        expect(() =>
          new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(
            received.body,
            received.headers as Record<string, string>,
          ),
        ).toThrow();
        expect(Math.abs(Number(received.headers['webhook-timestamp']) * 1000 - received.at)).toBeLessThan(60_000);
        expect(received.notice).toMatchObject({
          type: 'delivery.status',
          data: { eventId, eventType: 'BOOKING_CONFIRMED', userId: mine.userId },
        });
        // The person's address and number stay in the gateway.
        expect(received.body).not.toContain(mine.email);
        expect(received.body).not.toContain(mine.phone);
      }
      const metrics = await (await fetch(`${gateway.apiUrl}/metrics`)).text();
      expect(
        Number(/^gateway_status_notices_total\{outcome="posted"\} (\d+)/m.exec(metrics)?.[1]),
      ).toBeGreaterThanOrEqual(notices.length);
      const sms = notices.filter((r) => r.notice.data.channel === 'sms');
      expect(new Set(sms.map((r) => r.notice.data.providerId)).size).toBe(1);
      expect(sms[0]!.notice.data.providerId).toMatch(/^SM/);
      expect(receiver.received.filter((r) => r.body.includes(otherEventId))).toEqual([]);
    });

    it('reports a dead letter with its error code', async () => {
      const person = traveller('refused');
      // The one armed failure meets whichever of the SMS and the WhatsApp message reaches the sandbox first.
      gateway.sandbox.faults.set({ failNext: { code: 21211, to: person.phone } });
      const eventId = await book('dev-ingest-key', person);
      const notice = await waitFor(
        'the dead letter at the receiver',
        () =>
          receiver
            .accepted()
            .find((r) => r.notice.data.eventId === eventId && r.notice.data.status === 'dead_lettered'),
        { timeoutMs: 60_000 },
      );
      expect(notice.notice.data).toMatchObject({ errorCode: 'TWILIO_21211', userId: person.userId });
      expect(['sms', 'whatsapp']).toContain(notice.notice.data.channel);
      expect(signatureHolds(secret, notice)).toBe(true);
      const { rows } = await gateway.pool.query<{ status: string }>(
        'SELECT status FROM deliveries WHERE event_id = $1 AND channel = $2',
        [eventId, notice.notice.data.channel],
      );
      expect(rows).toEqual([{ status: 'dead_lettered' }]);
    });

    it('keeps delivering while the receiver is down, and posts every status once it is back', async () => {
      receiver.answer(503);
      const person = traveller('down');
      const seenBefore = receiver.received.length;
      const eventId = await book('dev-ingest-key', person);
      // The email goes out while every notice about it is refused.
      await waitFor('the email, with the receiver down', async () => (await emailsTo(person.email)).length === 1, {
        timeoutMs: 30_000,
      });
      await waitFor(
        'refused notices being retried',
        () => receiver.received.slice(seenBefore).filter((r) => r.body.includes(eventId)).length >= 6,
        { timeoutMs: 30_000 },
      );
      const health = (await (
        await fetch(`${gateway.apiUrl}/admin/webhooks/${webhookId}`, { headers: ADMIN })
      ).json()) as {
        consecutiveFailures: number;
        lastError: string;
      };
      expect(health.consecutiveFailures).toBeGreaterThan(0);
      expect(health.lastError).toContain('503');
      // And an operator's dashboard sees the refusals.
      const metrics = await (await fetch(`${gateway.apiUrl}/metrics`)).text();
      expect(Number(/^gateway_status_notices_total\{outcome="refused"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);

      receiver.answer(200);
      await waitForEveryStatus(eventId, 'once the receiver is back');
      // This event's only: the receiver is shared, and an earlier test's notices may still be on their retries.
      await unchangedFor(
        'the notices taken',
        () => receiver.accepted().filter((r) => r.body.includes(eventId)).length,
        3_000,
      );
      expect(statusesOf(eventId)).toEqual(EXPECTED);
      // Every retry of one notice carried the same webhook-id, so a receiver can drop repeats by it.
      const tries = receiver.received.filter((r) => r.body.includes(eventId));
      const ids = new Set(tries.map((r) => r.headers['webhook-id']));
      expect(ids.size).toBe(Object.values(EXPECTED).flat().length);
      expect(tries.length).toBeGreaterThan(ids.size);
    });
  });

  it("reports a disruption only on the sender's own travellers, never on another key's or a self-added one on the same train", async () => {
    const partner = await startWebhookReceiver();
    const made = await register({ apiKey: 'dev-ingest-key', url: partner.url });
    expect(made.status).toBe(201);
    const train = `T${randomBytes(4).toString('hex').toUpperCase()}`;
    const onTrain = { trainNumber: train, journeyDate: '2026-12-20' };
    const ours = traveller('ours');
    const theirs = traveller('theirs');
    const ownTrip = `hook-self-${randomBytes(3).toString('hex')}`;
    const ourBooking = await book('dev-ingest-key', ours, onTrain);
    await book(OTHER_KEY, theirs, onTrain);
    const followed = await fetch(`${gateway.apiUrl}/users/${ownTrip}/itineraries`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify(onTrain),
    });
    expect(followed.status).toBe(201);
    const travelling = async () =>
      (await gateway.pool.query('SELECT DISTINCT user_id FROM itineraries WHERE vehicle_number = $1', [train]))
        .rowCount;
    await waitFor('all three on the train', async () => (await travelling()) === 3, { timeoutMs: 30_000 });

    // The key's partner sends the delay; it reaches everyone on the train.
    const delay = flightDelay({
      eventId: randomUUID(),
      flightNumber: undefined,
      ...onTrain,
      disruptionType: 'TRAIN_DELAY',
    });
    const sent = await fetch(`${gateway.apiUrl}/events`, {
      method: 'POST',
      headers: INGEST_HEADERS,
      body: JSON.stringify(delay),
    });
    expect(sent.status).toBe(202);
    const delayId = String(delay.eventId);
    const reported = (userId: string) =>
      partner.accepted().filter((r) => r.notice.data.eventId === delayId && r.notice.data.userId === userId);
    const settledFor = async (userId: string, channel: string) =>
      (
        await gateway.pool.query(
          `SELECT 1 FROM deliveries WHERE event_id = $1 AND user_id = $2 AND channel = $3 AND status IN ('sent', 'delivered')`,
          [delayId, userId, channel],
        )
      ).rowCount === 1;
    await waitFor(
      "the delay email to the other key's traveller",
      async () => (await emailsTo(theirs.email)).length === 2,
      { timeoutMs: 60_000 },
    );
    await waitFor('the delay alert of the self-added traveller', () => settledFor(ownTrip, 'websocket'), {
      timeoutMs: 60_000,
    });
    await waitFor('the delay notices of our own traveller', () => reported(ours.userId).length >= 6, {
      timeoutMs: 60_000,
    });
    // Their booking's notices come to this receiver too, and may still be on their way: all in before the count holds.
    const ofOurBooking = () => partner.accepted().filter((r) => r.notice.data.eventId === ourBooking);
    await waitFor('the booking notices of our own traveller', () => ofOurBooking().length >= 6, { timeoutMs: 60_000 });
    await unchangedFor('the notices received', () => partner.received.length, 3_000);

    expect(reported(theirs.userId)).toEqual([]);
    expect(reported(ownTrip)).toEqual([]);
    expect(partner.received.filter((r) => r.body.includes(theirs.userId) || r.body.includes(ownTrip))).toEqual([]);
    expect(reported(ours.userId).map((r) => r.notice.data.channel)).toContain('email');
    const { id } = (await made.json()) as { id: number };
    await fetch(`${gateway.apiUrl}/admin/webhooks/${id}`, { method: 'DELETE', headers: ADMIN });
    await partner.close();
  });

  it("signs with the receiver's own secret when one is given", async () => {
    const own = await startWebhookReceiver();
    try {
      const secret = `partner-${randomBytes(16).toString('hex')}`;
      const made = await register({ apiKey: OTHER_KEY, url: own.url, secret, statuses: ['sent'] });
      expect(made.status).toBe(201);
      expect(((await made.json()) as { secret: string }).secret).toBe(secret);
      const eventId = await book(OTHER_KEY, traveller('own'));
      const notices = await waitFor(
        'the sent notices',
        () => {
          const got = own.accepted().filter((r) => r.notice.data.eventId === eventId);
          return got.length >= 3 && got;
        },
        { timeoutMs: 60_000 },
      );
      // Only the statuses it asked for: the provider took the email, the SMS and the WhatsApp message.
      await unchangedFor('the notices taken', () => own.accepted().length, 3_000);
      expect(notices.map((r) => `${String(r.notice.data.channel)}:${String(r.notice.data.status)}`).sort()).toEqual([
        'email:sent',
        'sms:sent',
        'whatsapp:sent',
      ]);
      for (const received of notices) expect(signatureHolds(secret, received)).toBe(true);
    } finally {
      await own.close();
    }
  });
});

describe('delivery status webhooks, retried for a window', () => {
  // A window of 7.2 s (WEBHOOK_RETRY_HOURS), where a deployment has 24 h.
  const WINDOW_MS = 7_200;
  let gateway: Gateway;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    gateway = await startGateway('status-webhooks-window', {
      env: { WEBHOOK_RETRY_DELAY_SECONDS: '1', WEBHOOK_RETRY_HOURS: String(WINDOW_MS / 3_600_000) },
    });
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
    await receiver?.close();
  }, 60_000);

  it('retries a refused notice with growing delays, then gives it up once the window has passed', async () => {
    const made = await fetch(`${gateway.apiUrl}/admin/webhooks`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: 'dev-ingest-key', url: receiver.url, statuses: ['sent'] }),
    });
    const { id } = (await made.json()) as { id: number };
    receiver.answer(503);
    const email = uniqueEmail('window');
    const event = bookingConfirmed({
      eventId: randomUUID(),
      userId: `hook-window-${randomBytes(3).toString('hex')}`,
      userEmail: email,
      userPhone: undefined,
    });
    expect(
      (
        await fetch(`${gateway.apiUrl}/events`, {
          method: 'POST',
          headers: INGEST_HEADERS,
          body: JSON.stringify(event),
        })
      ).status,
    ).toBe(202);
    await waitFor('the email', async () => (await emailsTo(email)).length === 1, { timeoutMs: 30_000 });
    const tries = () => receiver.received.filter((r) => r.body.includes(String(event.eventId)));
    await waitFor('the first refusal', () => tries().length > 0, { timeoutMs: 30_000 });
    const first = tries()[0]!.at;
    // Past the window, and past the longest delay that could still fall inside it.
    await waitFor('the window and its last delay to pass', () => Date.now() - first > WINDOW_MS + 9_000, {
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    receiver.answer(200);
    await unchangedFor('the tries', () => tries().length, 5_000);

    const attempts = tries();
    expect(receiver.accepted().filter((r) => r.body.includes(String(event.eventId)))).toEqual([]);
    expect(new Set(attempts.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    // The delays grow: the n-th retry waits at least 2ⁿ⁻¹ times the first delay (pg-boss doubles, and adds jitter).
    const waits = attempts.slice(1).map((r, i) => r.at - attempts[i]!.at);
    waits.forEach((wait, n) => expect(wait, `wait before retry ${n + 1}`).toBeGreaterThan(1_000 * 2 ** n - 100));
    expect(attempts.at(-1)!.at - first).toBeLessThan(WINDOW_MS + 9_000);
    const webhook = (await (await fetch(`${gateway.apiUrl}/admin/webhooks/${id}`, { headers: ADMIN })).json()) as {
      lastError: string;
      consecutiveFailures: number;
    };
    expect(webhook.lastError).toContain('503');
    expect(webhook.consecutiveFailures).toBe(attempts.length);
  }, 120_000);
});
