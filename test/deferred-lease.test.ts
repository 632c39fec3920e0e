import { randomUUID } from 'node:crypto';
import { fieldCipherOf } from '../src/util/field-cipher.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelAdapter } from '../src/channels/channel.js';
import { createTwilioChannel } from '../src/channels/twilio.channel.js';
import { createDeferredSender } from '../src/consumers/deferred.sender.js';
import { createPool } from '../src/db/pool.js';
import { buildSandboxApp, type SandboxHandle } from '../src/sandbox/sandbox.app.js';
import { createDeliveriesRepository, type DeliveryKey } from '../src/store/deliveries.repository.js';
import { createPreferencesRepository } from '../src/store/preferences.repository.js';
import { freshDatabase, uniquePhone } from './helpers/full-gateway.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';
import { startTcpRelay, type TcpRelay } from './helpers/tcp-relay.js';
import { unchangedFor, waitFor } from './helpers/wait-for.js';

/** The shortest lease the settings allow, so a look-up can outlast it. */
const LEASE_MS = 1_000;
const config = testConfig(uniquePrefix('deferred-lease'));

/**
 * A held (quiet-hours) SMS tried before is looked up at Twilio before it is sent. A look-up slower than the lease must
 * not let a second sender take the message and send it too; a sender that lost its lease anyway never sends.
 */
describe('the deferred sender holds its lease across the look-up and the send', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let pool: pg.Pool;
  let redis: Redis;
  let sandbox: SandboxHandle;
  let sandboxUrl: string;
  const closing: Array<() => Promise<unknown>> = [];

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
  // Each test's senders and relays stop with it: a sender left running would take the next test's message.
  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
    sandbox.faults.clear();
  });
  afterAll(async () => {
    await sandbox?.app.close();
    redis?.disconnect();
    await pool?.end();
    await database?.drop();
  });

  const smsAdapter = (): ChannelAdapter =>
    createTwilioChannel({
      channel: 'sms',
      accountSid: config.TWILIO_ACCOUNT_SID,
      authToken: config.TWILIO_AUTH_TOKEN,
      baseUrl: sandboxUrl,
      from: config.TWILIO_SMS_FROM,
    });

  /** A worker's deferred sender, on its own pool (its own way to the database) and its own Twilio client. */
  function startSender(senderPool: pg.Pool) {
    const adapter = smsAdapter();
    const lookups = { started: 0 };
    const watched: ChannelAdapter = {
      ...adapter,
      findSent: (message, since) => {
        lookups.started += 1;
        return adapter.findSent!(message, since);
      },
    };
    const sender = createDeferredSender({
      adapters: [watched],
      deliveries: createDeliveriesRepository(senderPool, { cipher: fieldCipherOf(config), leaseMs: LEASE_MS }),
      preferences: createPreferencesRepository({
        pool: senderPool,
        redis,
        cipher: fieldCipherOf(config),
        keyPrefix: `${config.KAFKA_TOPIC_PREFIX}profile:`,
      }),
      logger: testLogger,
      intervalMs: 100,
    });
    sender.start();
    closing.push(async () => {
      await sender.stop();
      await adapter.close();
    });
    return lookups;
  }

  /** A held SMS whose first sender died holding it: whoever takes it next must ask Twilio before sending. */
  async function heldSmsTakenOver(): Promise<{ key: DeliveryKey; phone: string }> {
    const phone = uniquePhone();
    const key: DeliveryKey = {
      eventId: randomUUID(),
      eventType: 'BOOKING_CONFIRMED',
      channel: 'sms',
      userId: `lease-${randomUUID()}`,
    };
    const dying = createDeliveriesRepository(pool, { cipher: fieldCipherOf(config), leaseMs: LEASE_MS });
    const body = `Booking ${key.eventId.slice(0, 8)} confirmed`;
    expect(await dying.defer(key, { recipient: phone, body, deliverAfter: new Date() })).toBe(true);
    expect(await dying.claimDue('sms')).toHaveLength(1);
    // The scenario: the dead sender's lease runs out.
    await sleep(LEASE_MS + 200);
    return { key, phone };
  }

  const ledgerRow = async (key: DeliveryKey) =>
    (
      await pool.query(`SELECT status, attempts, provider_id AS "providerId" FROM deliveries WHERE event_id = $1`, [
        key.eventId,
      ])
    ).rows[0] as { status: string; attempts: number; providerId: string | null };
  const messagesTo = (phone: string) => sandbox.store.list((m) => m.to === phone);

  it('two senders, a Twilio list slower than the lease: exactly one SMS', async () => {
    const { key, phone } = await heldSmsTakenOver();
    sandbox.faults.set({ listLatencyMs: 3 * LEASE_MS });
    startSender(pool);
    startSender(pool);

    const row = await waitFor('a sender to record the SMS', async () => {
      const found = await ledgerRow(key);
      return found.providerId ? found : undefined;
    });
    // A second sender that took the message over would send its copy once its own look-up answered.
    await unchangedFor(`SMS to ${phone}`, () => messagesTo(phone).length, 5 * LEASE_MS);
    const received = messagesTo(phone);
    expect(received).toHaveLength(1);
    expect((await ledgerRow(key)).providerId).toBe(received[0]!.sid);
    expect(row.attempts).toBe(2);
  });

  it('a sender that lost its lease during the look-up (its database away meanwhile) does not send', async () => {
    const { key, phone } = await heldSmsTakenOver();
    sandbox.faults.set({ listLatencyMs: 4 * LEASE_MS });
    const relay: TcpRelay = await startTcpRelay({ host: '127.0.0.1', port: Number(new URL(database.url).port) });
    const relayedUrl = Object.assign(new URL(database.url), { port: String(relay.port) }).toString();
    const cutOff = createPool(relayedUrl, testLogger);
    closing.push(
      () => cutOff.end(),
      () => relay.close(),
    );

    const first = startSender(cutOff);
    await waitFor('the first sender to ask Twilio', () => first.started === 1);
    expect((await ledgerRow(key)).attempts).toBe(2);
    // While it waits for Twilio's list, it cannot reach the database: its lease runs out and the other sender takes it.
    await relay.cut();
    startSender(pool);
    await waitFor('the second sender to take it', async () => (await ledgerRow(key)).attempts === 3, {
      timeoutMs: 10_000,
    });
    await relay.restore();

    const row = await waitFor('the SMS recorded', async () => {
      const found = await ledgerRow(key);
      return found.providerId ? found : undefined;
    });
    await unchangedFor(`SMS to ${phone}`, () => messagesTo(phone).length, 3 * LEASE_MS);
    const received = messagesTo(phone);
    expect(received).toHaveLength(1);
    expect(row.providerId).toBe(received[0]!.sid);
  });
});
