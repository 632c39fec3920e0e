import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { DateTime } from 'luxon';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelAdapter } from '../src/channels/channel.js';
import { createTwilioChannel } from '../src/channels/twilio.channel.js';
import { createDeferredSender } from '../src/consumers/deferred.sender.js';
import { createDeliveriesRepository, idempotencyKeyOf, type DeliveryKey } from '../src/store/deliveries.repository.js';
import { createDeliveryPipeline } from '../src/consumers/delivery.pipeline.js';
import { createPool } from '../src/db/pool.js';
import { parseEvent, type GatewayEvent } from '../src/events/index.js';
import { fieldCipherOf } from '../src/util/field-cipher.js';
import { createOptOutsRepository } from '../src/store/opt-outs.repository.js';
import { createPreferencesRepository } from '../src/store/preferences.repository.js';
import type { UserProfile } from '../src/preferences/profile.js';
import { buildSandboxApp, type SandboxHandle } from '../src/sandbox/sandbox.app.js';
import { createTemplateRenderer } from '../src/templates/renderer.js';
import { bookingConfirmed } from './fixtures/events.js';
import { freshDatabase, uniqueEmail, uniquePhone } from './helpers/full-gateway.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';
import { unchangedFor, waitFor } from './helpers/wait-for.js';
import { createMetrics } from '../src/metrics.js';

/** Counted here and never read: what these tests check is in the ledger and at the providers. */
const metrics = createMetrics();

const LEASE_MS = 1_000;
const config = testConfig(uniquePrefix('ledger'));
const renderer = createTemplateRenderer();

/**
 * The ledger's edges, where a message could be lost or sent twice: a retry that meets quiet hours, a retry long after
 * the first attempt, and the deferred sender (a record it failed to write, an attempt that may have gone out, two
 * senders sharing slow sends, and what changed while a message waited overnight).
 */
describe('the ledger at its edges', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let pool: pg.Pool;
  let redis: Redis;
  let sandbox: SandboxHandle;
  let sms: ChannelAdapter;
  let preferences: ReturnType<typeof createPreferencesRepository>;

  beforeAll(async () => {
    database = await freshDatabase(config.DATABASE_URL);
    pool = createPool(database.url, testLogger);
    redis = new Redis(config.REDIS_URL);
    preferences = createPreferencesRepository({
      pool,
      redis,
      cipher: fieldCipherOf(config),
      keyPrefix: `${config.KAFKA_TOPIC_PREFIX}profile:`,
    });
    sandbox = await buildSandboxApp({
      accountSid: config.TWILIO_ACCOUNT_SID,
      authToken: config.TWILIO_AUTH_TOKEN,
      logger: testLogger,
    });
    const sandboxUrl = await sandbox.app.listen({ host: '127.0.0.1', port: 0 });
    sms = createTwilioChannel({
      channel: 'sms',
      accountSid: config.TWILIO_ACCOUNT_SID,
      authToken: config.TWILIO_AUTH_TOKEN,
      baseUrl: sandboxUrl,
      from: config.TWILIO_SMS_FROM,
    });
  });
  afterAll(async () => {
    await sandbox?.app.close();
    redis?.disconnect();
    await pool?.end();
    await database?.drop();
  });

  function traveller(overrides: Partial<UserProfile> = {}): {
    event: GatewayEvent;
    profile: UserProfile;
    key: DeliveryKey;
    text: string;
  } {
    const profile: UserProfile = {
      userId: `ledger-${randomUUID()}`,
      email: uniqueEmail('ledger'),
      phone: uniquePhone(),
      name: 'Asha',
      whatsappOptIn: false,
      locale: 'en',
      channels: {},
      eventChannels: {},
      ...overrides,
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
    const event = parsed.event;
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
    return { event, profile, key, text };
  }

  const received = (phone: string) => sandbox.store.list((m) => m.to === phone);
  const rowOf = async (eventId: string) =>
    (await createDeliveriesRepository(pool, { cipher: fieldCipherOf(config) }).find({ eventId, channel: 'sms' }))[0];
  const sendAsTwilioWould = (t: ReturnType<typeof traveller>) =>
    sms.send({
      channel: 'sms',
      to: t.profile.phone!,
      userId: t.profile.userId,
      eventId: t.event.eventId,
      eventType: t.event.eventType,
      idempotencyKey: idempotencyKeyOf(t.key),
      text: t.text,
    });

  async function runSender(
    deliveries: ReturnType<typeof createDeliveriesRepository>,
    until: () => Promise<boolean>,
    extra: Partial<Parameters<typeof createDeferredSender>[0]> = {},
  ) {
    const sender = createDeferredSender({
      adapters: [sms],
      deliveries,
      preferences,
      logger: testLogger,
      intervalMs: 100,
      ...extra,
    });
    sender.start();
    try {
      await waitFor('the deferred sender to settle it', until, { timeoutMs: 20_000 });
    } finally {
      await sender.stop();
    }
  }

  it('a retry that lands in the person’s quiet hours is held, and sent once when they end', async () => {
    const now = DateTime.utc();
    const t = traveller({
      quietHours: {
        start: now.minus({ minutes: 1 }).toFormat('HH:mm:ss'),
        end: now.plus({ seconds: 3 }).toFormat('HH:mm:ss'),
        timeZone: 'UTC',
      },
    });
    const deliveries = createDeliveriesRepository(pool, { cipher: fieldCipherOf(config), leaseMs: 30_000 });
    // The first attempt failed for now (Twilio answered 503): the claim was released for the retry to take.
    const first = await deliveries.claim(t.key);
    if (!first.claimed) throw new Error('first claim refused');
    await deliveries.release(first.id, { code: 'TWILIO_20503', message: 'service unavailable' });

    const retry = createDeliveryPipeline({ channel: 'sms', adapter: sms, renderer, deliveries, metrics });
    expect(await retry(t.event, t.profile)).toEqual({ kind: 'done' });
    expect(await rowOf(t.event.eventId)).toMatchObject({ status: 'deferred' });
    expect(received(t.profile.phone!)).toHaveLength(0);

    await runSender(deliveries, async () => /queued|sent|delivered/.test((await rowOf(t.event.eventId))?.status ?? ''));
    expect(received(t.profile.phone!)).toHaveLength(1);
    expect(received(t.profile.phone!)[0]!.body).toBe(t.text);
  });

  it('a retry long after the first attempt finds at Twilio what that attempt handed over, and sends nothing', async () => {
    const t = traveller();
    const deliveries = createDeliveriesRepository(pool, { cipher: fieldCipherOf(config), leaseMs: 30_000 });
    const first = await deliveries.claim(t.key);
    if (!first.claimed) throw new Error('first claim refused');
    // Twilio took it, but the answer never came back (a timeout): the attempt counts as failed for now.
    const taken = await sendAsTwilioWould(t);
    await deliveries.release(first.id, { code: 'TWILIO_TIMEOUT', message: 'timed out' });
    // Ten minutes pass: the retry comes from the 10-minute topic.
    await pool.query(`UPDATE deliveries SET created_at = created_at - interval '10 minutes' WHERE id = $1`, [first.id]);
    sandbox.store.update(taken.providerId, { dateCreated: new Date(Date.now() - 10 * 60_000 + 5_000) });

    const retry = createDeliveryPipeline({ channel: 'sms', adapter: sms, renderer, deliveries, metrics });
    expect(await retry(t.event, t.profile)).toEqual({ kind: 'done' });
    expect(received(t.profile.phone!)).toHaveLength(1);
    expect(await rowOf(t.event.eventId)).toMatchObject({ providerId: taken.providerId });
  });

  it('a held SMS that Twilio took, but whose outcome could not be recorded, is not sent again', async () => {
    const t = traveller();
    const deliveries = createDeliveriesRepository(pool, { cipher: fieldCipherOf(config), leaseMs: LEASE_MS });
    expect(await deliveries.defer(t.key, { recipient: t.profile.phone!, body: t.text, deliverAfter: new Date() })).toBe(
      true,
    );
    // The ledger refuses every outcome for a while (a constraint stands in for a database that rejects the write).
    await pool.query(
      `ALTER TABLE deliveries ADD CONSTRAINT refuse_outcomes CHECK (status NOT IN ('queued', 'sent', 'delivered')) NOT VALID`,
    );
    const sender = createDeferredSender({
      adapters: [sms],
      deliveries,
      preferences,
      logger: testLogger,
      intervalMs: 100,
    });
    sender.start();
    try {
      await waitFor('Twilio to have it', () => received(t.profile.phone!).length >= 1);
      // The scenario, not a synchronisation: the ledger refuses for longer than the sender's recording retries last
      // (about 3 s), so they give up and the sweeps go on.
      await sleep(4_000);
    } finally {
      await pool.query(`ALTER TABLE deliveries DROP CONSTRAINT refuse_outcomes`);
    }
    try {
      await waitFor(
        'the outcome recorded',
        async () => /queued|sent|delivered/.test((await rowOf(t.event.eventId))?.status ?? ''),
        { timeoutMs: 20_000 },
      );
      await unchangedFor('SMS at Twilio', () => received(t.profile.phone!).length, 500);
    } finally {
      await sender.stop();
    }
    expect(received(t.profile.phone!)).toHaveLength(1);
    expect(await rowOf(t.event.eventId)).toMatchObject({ providerId: received(t.profile.phone!)[0]!.sid });
  });

  it('a held SMS whose earlier attempt timed out after Twilio took it is found there, not sent again', async () => {
    const t = traveller();
    const deliveries = createDeliveriesRepository(pool, { cipher: fieldCipherOf(config), leaseMs: LEASE_MS });
    expect(await deliveries.defer(t.key, { recipient: t.profile.phone!, body: t.text, deliverAfter: new Date() })).toBe(
      true,
    );
    // What a sender did before: claimed it, handed it to Twilio, heard nothing back in time, and held it again.
    const [due] = await deliveries.claimDue('sms');
    expect(due?.key.eventId).toBe(t.event.eventId);
    await sendAsTwilioWould(t);
    await deliveries.redefer(due!.id, new Date(), { code: 'TWILIO_TIMEOUT', message: 'timed out' });

    await runSender(deliveries, async () => /queued|sent|delivered/.test((await rowOf(t.event.eventId))?.status ?? ''));
    expect(received(t.profile.phone!)).toHaveLength(1);
  });

  it('two senders sharing held messages while Twilio is slow send each one once', async () => {
    const held = Array.from({ length: 6 }, () => traveller());
    const deliveries = createDeliveriesRepository(pool, { cipher: fieldCipherOf(config), leaseMs: LEASE_MS });
    for (const t of held)
      await deliveries.defer(t.key, { recipient: t.profile.phone!, body: t.text, deliverAfter: new Date() });
    sandbox.faults.set({ latencyMs: 400 });
    const senders = [1, 2].map(() =>
      createDeferredSender({
        adapters: [sms],
        deliveries: createDeliveriesRepository(pool, { cipher: fieldCipherOf(config), leaseMs: LEASE_MS }),
        preferences,
        logger: testLogger,
        intervalMs: 100,
      }),
    );
    senders.forEach((s) => s.start());
    try {
      await waitFor(
        'every held message settled',
        async () => {
          const rows = await Promise.all(held.map((t) => rowOf(t.event.eventId)));
          return rows.every((r) => /queued|sent|delivered/.test(r?.status ?? ''));
        },
        { timeoutMs: 30_000 },
      );
      // A sender that took one over would have sent its copy by now.
      await unchangedFor('SMS at Twilio', () => held.map((t) => received(t.profile.phone!).length), 1_500);
    } finally {
      await Promise.all(senders.map((s) => s.stop()));
      sandbox.faults.clear();
    }
    expect(held.map((t) => received(t.profile.phone!).length)).toEqual(held.map(() => 1));
  });

  it('a held SMS is not sent once the person turned SMS off, the number sent STOP, or the person was erased', async () => {
    const deliveries = createDeliveriesRepository(pool, { cipher: fieldCipherOf(config), leaseMs: 30_000 });
    const optOuts = createOptOutsRepository(pool, fieldCipherOf(config));
    const [off, stopped, erased, still] = [traveller(), traveller(), traveller(), traveller()];
    for (const t of [off, stopped, erased, still]) {
      await preferences.update(t.profile.userId, { phone: t.profile.phone! });
      await deliveries.defer(t.key, {
        recipient: t.profile.phone!,
        body: t.text,
        deliverAfter: new Date(Date.now() + 1_000),
      });
    }
    // Overnight: one turns SMS off, one number replies STOP, one person is erased (their row is a tombstone).
    await preferences.update(off.profile.userId, { channels: { sms: false } });
    await optOuts.optOut(stopped.profile.phone!, 'sms');
    await pool.query(`UPDATE users SET erased_at = now() WHERE user_id = $1`, [erased.profile.userId]);
    await preferences.invalidate(erased.profile.userId);

    await runSender(
      deliveries,
      async () => {
        const rows = await Promise.all([off, stopped, erased, still].map((t) => rowOf(t.event.eventId)));
        return rows.every((r) => r && r.status !== 'deferred' && r.status !== 'sending');
      },
      { optOutsFor: (channel) => (channel === 'sms' ? optOuts.forChannel('sms') : undefined) },
    );
    expect(received(still.profile.phone!)).toHaveLength(1);
    for (const t of [off, stopped, erased]) expect(received(t.profile.phone!)).toHaveLength(0);
    expect(await rowOf(off.event.eventId)).toMatchObject({ status: 'skipped', errorCode: 'PREFERENCE_OFF' });
    expect(await rowOf(stopped.event.eventId)).toMatchObject({ status: 'skipped', errorCode: 'OPTED_OUT' });
    expect(await rowOf(erased.event.eventId)).toMatchObject({ status: 'skipped', errorCode: 'ERASED' });
  });

  it('an SMS to a number that sent STOP is not sent, even when it is only the booking’s phone', async () => {
    const deliveries = createDeliveriesRepository(pool, { cipher: fieldCipherOf(config), leaseMs: 30_000 });
    const optOuts = createOptOutsRepository(pool, fieldCipherOf(config));
    // The person keeps another number on file, or none: the booking's userPhone is where the SMS would go.
    const t = traveller();
    await optOuts.optOut(t.profile.phone!, 'sms');
    const deliverTo = createDeliveryPipeline({
      channel: 'sms',
      adapter: sms,
      renderer,
      metrics,
      deliveries,
      optOuts: optOuts.forChannel('sms'),
    });
    expect(await deliverTo(t.event, t.profile)).toEqual({ kind: 'done' });
    expect(received(t.profile.phone!)).toHaveLength(0);
    expect(await rowOf(t.event.eventId)).toMatchObject({ status: 'skipped', errorCode: 'OPTED_OUT' });
  });
});
