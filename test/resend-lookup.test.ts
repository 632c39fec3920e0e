import { randomUUID } from 'node:crypto';
import { fieldCipherOf } from '../src/util/field-cipher.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelAdapter } from '../src/channels/channel.js';
import { createTwilioChannel } from '../src/channels/twilio.channel.js';
import { createDeliveryPipeline } from '../src/consumers/delivery.pipeline.js';
import { createPool } from '../src/db/pool.js';
import { parseEvent, type GatewayEvent } from '../src/events/index.js';
import { createMetrics } from '../src/metrics.js';
import type { UserProfile } from '../src/preferences/profile.js';
import { buildSandboxApp, type SandboxHandle } from '../src/sandbox/sandbox.app.js';
import { createDeliveriesRepository, idempotencyKeyOf, type DeliveryKey } from '../src/store/deliveries.repository.js';
import { createTemplateRenderer } from '../src/templates/renderer.js';
import { bookingConfirmed } from './fixtures/events.js';
import { freshDatabase, uniquePhone } from './helpers/full-gateway.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';
import { waitFor } from './helpers/wait-for.js';

const config = testConfig(uniquePrefix('resend-lookup'));
const renderer = createTemplateRenderer();
const metrics = createMetrics();
const LEASE_MS = 1_000;

/**
 * Before a delivery is sent again (an operator's replay, a retry, a takeover) Twilio's message list is asked whether it
 * already has it. A copy Twilio failed, or the carrier lost, never reached the person: it must not count as sent.
 */
describe('the provider look-up before a resend', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let pool: pg.Pool;
  let sandbox: SandboxHandle;
  let adapter: ChannelAdapter;

  beforeAll(async () => {
    database = await freshDatabase(config.DATABASE_URL);
    pool = createPool(database.url, testLogger);
    sandbox = await buildSandboxApp({
      accountSid: config.TWILIO_ACCOUNT_SID,
      authToken: config.TWILIO_AUTH_TOKEN,
      logger: testLogger,
    });
    const sandboxUrl = await sandbox.app.listen({ host: '127.0.0.1', port: 0 });
    adapter = createTwilioChannel({
      channel: 'sms',
      accountSid: config.TWILIO_ACCOUNT_SID,
      authToken: config.TWILIO_AUTH_TOKEN,
      baseUrl: sandboxUrl,
      from: config.TWILIO_SMS_FROM,
    });
  });
  afterAll(async () => {
    await adapter?.close();
    await sandbox?.app.close();
    await pool?.end();
    await database?.drop();
  });

  function traveller(): { event: GatewayEvent; profile: UserProfile; key: DeliveryKey } {
    const profile: UserProfile = {
      userId: `resend-${randomUUID()}`,
      phone: uniquePhone(),
      name: 'Asha',
      whatsappOptIn: false,
      locale: 'en',
      channels: {},
      eventChannels: {},
    };
    const parsed = parseEvent(bookingConfirmed({ userId: profile.userId, userPhone: profile.phone }));
    if (!parsed.ok) throw new Error('fixture event is invalid');
    const { eventId, eventType } = parsed.event;
    return { event: parsed.event, profile, key: { eventId, eventType, channel: 'sms', userId: profile.userId } };
  }

  const pipeline = (leaseMs = 30_000) => {
    const deliveries = createDeliveriesRepository(pool, { cipher: fieldCipherOf(config), leaseMs });
    return {
      deliveries,
      deliverTo: createDeliveryPipeline({ channel: 'sms', adapter, renderer, deliveries, metrics }),
    };
  };
  const messagesTo = (phone: string) => sandbox.store.list((m) => m.to === phone);
  const settledAtSandbox = (sid: string, status: string) =>
    waitFor(`${sid} to be ${status} at the sandbox`, () => sandbox.store.get(sid)?.status === status);

  it('sends again an SMS that Twilio failed (30003) when an operator replays it', async () => {
    const { event, profile, key } = traveller();
    const phone = profile.phone!;
    sandbox.faults.set({ undeliverable: { to: phone, status: 'failed', code: 30003 } });
    const { deliveries, deliverTo } = pipeline();
    expect(await deliverTo(event, profile)).toEqual({ kind: 'done' });
    const [first] = messagesTo(phone);
    await settledAtSandbox(first!.sid, 'failed');
    // What the status callback records: the ledger says failed, with Twilio's code.
    expect(await deliveries.updateProviderStatus(first!.sid, 'failed', 'TWILIO_30003')).toBe(true);
    sandbox.faults.clear();

    // The carrier's queue drained; the operator replays the delivery (as POST /admin/dlq/:id/replay and re-drive do).
    expect(await deliverTo(event, profile, { replay: true })).toEqual({ kind: 'done' });

    const received = messagesTo(phone);
    expect(received).toHaveLength(2);
    const resent = received[0]!;
    expect(resent.sid).not.toBe(first!.sid);
    expect(resent.body).toBe(first!.body);
    await settledAtSandbox(resent.sid, 'delivered');
    const [row] = await deliveries.find({ eventId: key.eventId, channel: 'sms' });
    expect(row).toMatchObject({ providerId: resent.sid, status: expect.stringMatching(/queued|sent/), attempts: 2 });
  });

  it('sends again an SMS the carrier lost (undelivered) when the delivery is taken over', async () => {
    const { event, profile, key } = traveller();
    const phone = profile.phone!;
    sandbox.faults.set({ undeliverable: { to: phone, status: 'undelivered', code: 30003 } });
    // A process claimed the delivery and handed the SMS to Twilio, then died before recording it.
    const dying = pipeline(LEASE_MS).deliveries;
    const claim = await dying.claim(key);
    expect(claim.claimed).toBe(true);
    const text = renderer.render({
      eventType: event.eventType,
      channel: 'sms',
      locale: 'en',
      event,
      recipient: profile,
    });
    await adapter.send({ ...key, to: phone, idempotencyKey: idempotencyKeyOf(key), text: text.text });
    const [lost] = messagesTo(phone);
    await settledAtSandbox(lost!.sid, 'undelivered');
    sandbox.faults.clear();
    // The scenario, not a synchronisation: nobody renews the dead process's lease, and it runs out.
    await sleep(LEASE_MS + 200);

    const { deliveries, deliverTo } = pipeline();
    expect(await deliverTo(event, profile)).toEqual({ kind: 'done' });

    const received = messagesTo(phone);
    expect(received).toHaveLength(2);
    expect(received[0]!.sid).not.toBe(lost!.sid);
    const [row] = await deliveries.find({ eventId: key.eventId, channel: 'sms' });
    expect(row).toMatchObject({ providerId: received[0]!.sid, attempts: 2 });
  });

  it('still finds a copy Twilio has delivered, and sends nothing more', async () => {
    const { event, profile, key } = traveller();
    const phone = profile.phone!;
    const dying = pipeline(LEASE_MS).deliveries;
    expect((await dying.claim(key)).claimed).toBe(true);
    const text = renderer.render({
      eventType: event.eventType,
      channel: 'sms',
      locale: 'en',
      event,
      recipient: profile,
    });
    await adapter.send({ ...key, to: phone, idempotencyKey: idempotencyKeyOf(key), text: text.text });
    const [taken] = messagesTo(phone);
    await settledAtSandbox(taken!.sid, 'delivered');
    await sleep(LEASE_MS + 200);

    const { deliveries, deliverTo } = pipeline();
    expect(await deliverTo(event, profile)).toEqual({ kind: 'done' });

    expect(messagesTo(phone)).toHaveLength(1);
    const [row] = await deliveries.find({ eventId: key.eventId, channel: 'sms' });
    expect(row).toMatchObject({ providerId: taken!.sid, status: 'delivered', attempts: 2 });
  });
});
