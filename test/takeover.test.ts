import { randomUUID } from 'node:crypto';
import { fieldCipherOf } from '../src/util/field-cipher.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelAdapter, OutboundMessage } from '../src/channels/channel.js';
import { createEmailChannel } from '../src/channels/email.channel.js';
import { createTwilioChannel } from '../src/channels/twilio.channel.js';
import { createDeliveriesRepository, idempotencyKeyOf, type DeliveryKey } from '../src/store/deliveries.repository.js';
import { createDeferredSender } from '../src/consumers/deferred.sender.js';
import { createDeliveryPipeline } from '../src/consumers/delivery.pipeline.js';
import { createPool } from '../src/db/pool.js';
import { parseEvent, type Channel, type GatewayEvent } from '../src/events/index.js';
import { createPreferencesRepository } from '../src/store/preferences.repository.js';
import type { UserProfile } from '../src/preferences/profile.js';
import { buildSandboxApp, type SandboxHandle } from '../src/sandbox/sandbox.app.js';
import { createTemplateRenderer } from '../src/templates/renderer.js';
import { bookingConfirmed } from './fixtures/events.js';
import { freshDatabase, uniqueEmail, uniquePhone } from './helpers/full-gateway.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';
import { emailsTo } from './helpers/maildev.js';
import { unchangedFor, waitFor } from './helpers/wait-for.js';
import { createMetrics } from '../src/metrics.js';

/** Counted here and never read: what these tests check is in the ledger and at the providers. */
const metrics = createMetrics();

/** The shortest lease the settings allow: a claim left by a "dead" process is free to take over a second later. */
const LEASE_MS = 1_000;
const config = testConfig(uniquePrefix('takeover'));
const renderer = createTemplateRenderer();

/**
 * A worker that died holding a claim, replayed by hand: it claimed the delivery and, in the first case, the provider
 * took the message before the process could record it. Whoever takes the claim over after the lease must not send a
 * second copy where the provider can be asked (Twilio; MailDev), and does where it cannot (a plain SMTP relay).
 */
describe('a delivery taken over from a process that died mid-send', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let pool: pg.Pool;
  let redis: Redis;
  let sandbox: SandboxHandle;
  let sandboxUrl: string;
  const adapters: ChannelAdapter[] = [];

  beforeAll(async () => {
    database = await freshDatabase(config.DATABASE_URL);
    pool = createPool(database.url, testLogger);
    redis = new Redis(config.REDIS_URL);
    sandbox = await buildSandboxApp({
      accountSid: config.TWILIO_ACCOUNT_SID,
      authToken: config.TWILIO_AUTH_TOKEN,
      logger: testLogger,
    });
    sandboxUrl = await sandbox.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await Promise.all(adapters.map((a) => a.close()));
    await sandbox?.app.close();
    redis?.disconnect();
    await pool?.end();
    await database?.drop();
  });

  const emailAdapter = (lookup: boolean) =>
    track(
      createEmailChannel({
        smtpUrl: config.SMTP_URL,
        from: config.SMTP_FROM,
        ...(lookup && { lookupUrl: config.SMTP_LOOKUP_URL }),
      }),
    );
  const smsAdapter = () =>
    track(
      createTwilioChannel({
        channel: 'sms',
        accountSid: config.TWILIO_ACCOUNT_SID,
        authToken: config.TWILIO_AUTH_TOKEN,
        baseUrl: sandboxUrl,
        from: config.TWILIO_SMS_FROM,
      }),
    );
  function track(adapter: ChannelAdapter) {
    adapters.push(adapter);
    return adapter;
  }

  function traveller(): { event: GatewayEvent; profile: UserProfile } {
    const profile: UserProfile = {
      userId: `takeover-${randomUUID()}`,
      email: uniqueEmail('takeover'),
      phone: uniquePhone(),
      name: 'Asha',
      whatsappOptIn: false,
      locale: 'en',
      channels: {},
      eventChannels: {},
    };
    const parsed = parseEvent(
      bookingConfirmed({
        eventId: randomUUID(),
        userId: profile.userId,
        userEmail: profile.email,
        userPhone: profile.phone,
      }),
    );
    if (!parsed.ok) throw new Error('fixture event is invalid');
    return { event: parsed.event, profile };
  }

  /** What the dead process did: took the claim and, when `sent`, handed the message to the provider; nothing after. */
  async function dieMidSend(
    adapter: ChannelAdapter,
    event: GatewayEvent,
    profile: UserProfile,
    { sent }: { sent: boolean },
  ) {
    const channel = adapter.channel;
    const key: DeliveryKey = { eventId: event.eventId, eventType: event.eventType, channel, userId: profile.userId };
    const claim = await createDeliveriesRepository(pool, { cipher: fieldCipherOf(config), leaseMs: LEASE_MS }).claim(
      key,
    );
    expect(claim.claimed).toBe(true);
    if (sent) {
      const rendered = renderer.render({
        eventType: event.eventType,
        channel,
        locale: 'en',
        event,
        recipient: profile,
      });
      const message: OutboundMessage = {
        channel,
        to: channel === 'email' ? profile.email! : profile.phone!,
        userId: profile.userId,
        eventId: event.eventId,
        eventType: event.eventType,
        idempotencyKey: idempotencyKeyOf(key),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
      };
      await adapter.send(message);
    }
    // The scenario, not a synchronisation: nobody renews the dead process's lease, and it runs out.
    await sleep(LEASE_MS + 200);
  }

  /** The survivor: the same pipeline a worker runs, reading the ledger the dead process left. */
  async function takeOver(adapter: ChannelAdapter, event: GatewayEvent, profile: UserProfile) {
    const deliveries = createDeliveriesRepository(pool, { cipher: fieldCipherOf(config), leaseMs: 30_000 });
    const deliverTo = createDeliveryPipeline({ channel: adapter.channel, adapter, renderer, deliveries, metrics });
    const outcome = await deliverTo(event, profile);
    const [row] = await deliveries.find({ eventId: event.eventId, channel: adapter.channel as Channel });
    return { outcome, row };
  }

  const emailsSettled = async (address: string, atLeast: number) =>
    waitFor(
      `${atLeast} email(s) to ${address}`,
      async () => {
        const caught = await emailsTo(address);
        return caught.length >= atLeast ? caught : undefined;
      },
      { timeoutMs: 10_000 },
    );

  it('email that MailDev already took is found by its Message-ID and not sent again', async () => {
    const adapter = emailAdapter(true);
    const { event, profile } = traveller();
    await dieMidSend(adapter, event, profile, { sent: true });
    await emailsSettled(profile.email!, 1);

    const { outcome, row } = await takeOver(adapter, event, profile);
    expect(outcome).toEqual({ kind: 'done' });
    expect(row).toMatchObject({ status: 'sent', attempts: 2, recipient: profile.email });
    // A second copy, had one gone out, would be in MailDev by now.
    await unchangedFor(`emails to ${profile.email}`, async () => (await emailsTo(profile.email!)).length, 500);
    const caught = await emailsTo(profile.email!);
    expect(caught).toHaveLength(1);
    expect(caught[0]!.subject).toContain(String(event.pnrNumber));
    expect(caught[0]!.headers['message-id']).toBe(row!.providerId);
  });

  it('email the dead process never handed over is sent, once', async () => {
    const adapter = emailAdapter(true);
    const { event, profile } = traveller();
    await dieMidSend(adapter, event, profile, { sent: false });

    const { row } = await takeOver(adapter, event, profile);
    expect(row).toMatchObject({ status: 'sent', attempts: 2 });
    const caught = await emailsSettled(profile.email!, 1);
    await unchangedFor(`emails to ${profile.email}`, async () => (await emailsTo(profile.email!)).length, 500);
    expect(await emailsTo(profile.email!)).toHaveLength(caught.length);
    expect(caught).toHaveLength(1);
  });

  it('email through a relay that cannot be asked goes out again: the documented duplicate window', async () => {
    const adapter = emailAdapter(false);
    const { event, profile } = traveller();
    await dieMidSend(adapter, event, profile, { sent: true });

    const { row } = await takeOver(adapter, event, profile);
    expect(row).toMatchObject({ status: 'sent', attempts: 2 });
    const caught = await emailsSettled(profile.email!, 2);
    // Both copies carry one Message-ID, so a mailbox that drops repeated ids shows it once.
    expect(new Set(caught.map((m) => m.headers['message-id']))).toEqual(new Set([row!.providerId]));
  });

  it('an SMS Twilio already took is found in its message list, even behind many newer messages to that number', async () => {
    const adapter = smsAdapter();
    const { event, profile } = traveller();
    await dieMidSend(adapter, event, profile, { sent: true });
    // The survivor went on sending to the same person while the lease ran: the lost one is well down the list.
    for (let i = 0; i < 120; i += 1)
      await adapter.send({
        channel: 'sms',
        to: profile.phone!,
        userId: profile.userId,
        eventId: randomUUID(),
        eventType: 'PAYMENT_COMPLETED',
        idempotencyKey: `other-${i}`,
        text: `Other message ${i}`,
      });

    const { outcome, row } = await takeOver(adapter, event, profile);
    expect(outcome).toEqual({ kind: 'done' });
    expect(row).toMatchObject({ status: expect.stringMatching(/queued|sent|delivered/), attempts: 2 });
    const bookingSms = sandbox.store.list((m) => m.to === profile.phone && m.body.includes(String(event.pnrNumber)));
    expect(bookingSms).toHaveLength(1);
    expect(row!.providerId).toBe(bookingSms[0]!.sid);
  });

  /**
   * A quiet-hours SMS: held as 'deferred', claimed by a sender when the window ends, and that sender dies. Its Kafka
   * record was settled long ago, so only the deferred sender can take it over.
   */
  async function deferredSenderDied(adapter: ChannelAdapter, { sent }: { sent: boolean }) {
    const { event, profile } = traveller();
    const key: DeliveryKey = {
      eventId: event.eventId,
      eventType: event.eventType,
      channel: 'sms',
      userId: profile.userId,
    };
    const text = renderer.render({
      eventType: event.eventType,
      channel: 'sms',
      locale: 'en',
      event,
      recipient: profile,
    }).text;
    const dying = createDeliveriesRepository(pool, { cipher: fieldCipherOf(config), leaseMs: LEASE_MS });
    expect(await dying.defer(key, { recipient: profile.phone!, body: text, deliverAfter: new Date() })).toBe(true);
    const [due] = await dying.claimDue('sms');
    expect(due).toMatchObject({ recovered: false, key: { eventId: event.eventId } });
    if (sent)
      await adapter.send({
        channel: 'sms',
        to: profile.phone!,
        userId: profile.userId,
        eventId: event.eventId,
        eventType: event.eventType,
        idempotencyKey: idempotencyKeyOf(key),
        text,
      });
    // The scenario: the dead sender's lease runs out.
    await sleep(LEASE_MS + 200);

    const deliveries = createDeliveriesRepository(pool, { cipher: fieldCipherOf(config), leaseMs: 30_000 });
    const preferences = createPreferencesRepository({
      pool,
      redis,
      cipher: fieldCipherOf(config),
      keyPrefix: `${config.KAFKA_TOPIC_PREFIX}profile:`,
    });
    const sender = createDeferredSender({
      adapters: [adapter],
      deliveries,
      preferences,
      logger: testLogger,
      intervalMs: 100,
    });
    sender.start();
    try {
      const row = await waitFor(
        'the survivor to settle it',
        async () => {
          const [found] = await deliveries.find({ eventId: event.eventId, channel: 'sms' });
          return found && found.status !== 'sending' ? found : undefined;
        },
        { timeoutMs: 10_000 },
      );
      return { row, received: sandbox.store.list((m) => m.to === profile.phone) };
    } finally {
      await sender.stop();
    }
  }

  it('a quiet-hours SMS whose sender died after Twilio took it is found there, not sent again', async () => {
    const { row, received } = await deferredSenderDied(smsAdapter(), { sent: true });
    expect(received).toHaveLength(1);
    expect(row).toMatchObject({ attempts: 2, providerId: received[0]!.sid });
  });

  it('a quiet-hours SMS whose sender died before sending it is sent, once', async () => {
    const { row, received } = await deferredSenderDied(smsAdapter(), { sent: false });
    expect(received).toHaveLength(1);
    expect(row).toMatchObject({ attempts: 2, providerId: received[0]!.sid });
  });
});
