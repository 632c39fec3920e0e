import { randomBytes, randomUUID } from 'node:crypto';
import { fieldCipherOf } from '../src/util/field-cipher.js';
import { Writable } from 'node:stream';
import type pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTwilioChannel } from '../src/channels/twilio.channel.js';
import { createTwilioStatusLookup } from '../src/channels/twilio-status-lookup.js';
import { createStatusReconciler } from '../src/consumers/status.reconciler.js';
import { createPool } from '../src/db/pool.js';
import { createMetrics } from '../src/metrics.js';
import { buildSandboxApp, type SandboxHandle } from '../src/sandbox/sandbox.app.js';
import { createDeliveriesRepository, type DeliveryKey } from '../src/store/deliveries.repository.js';
import { createStatusReconcileRepository } from '../src/store/status-reconcile.repository.js';
import { bookingConfirmed } from './fixtures/events.js';
import { freshDatabase, startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';
import { startTcpRelay, type TcpRelay } from './helpers/tcp-relay.js';
import { waitFor } from './helpers/wait-for.js';

/** `gateway_status_reconciled_total` by channel and status, as /metrics shows it. */
async function reconciledCounts(metricsUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const counts: Record<string, number> = {};
  for (const [, channel, status, value] of text.matchAll(
    /^gateway_status_reconciled_total\{channel="(\w+)",status="(\w+)"\} (\d+)$/gm,
  ))
    counts[`${channel}:${status}`] = Number(value);
  return counts;
}

/**
 * Twilio posts each status callback once: one the api did not take in time is lost, and its delivery would stay
 * `queued` for good. The worker asks Twilio about deliveries without news and settles them.
 */
describe('deliveries whose status callbacks never arrived', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway('status-reconcile', { env: { STATUS_RECONCILE_AFTER_SECONDS: '1' } });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('end delivered, or undelivered with Twilio’s error code, and are counted in /metrics', async () => {
    const reachable = uniquePhone();
    const lost = uniquePhone();
    // Every callback is lost on its way; the carrier loses the second traveller's SMS and WhatsApp (30003).
    gateway.sandbox.faults.set({ dropCallbacks: true, undeliverable: { to: lost, code: 30003 } });
    const publish = (phone: string) =>
      gateway.producer.publish(
        bookingConfirmed({
          eventId: undefined,
          pnrNumber: `RC${randomBytes(3).toString('hex')}`,
          userId: `rc-${randomBytes(4).toString('hex')}`,
          userPhone: phone,
          userEmail: uniqueEmail('rc'),
        }),
      );
    const ok = await publish(reachable);
    const failed = await publish(lost);

    const settled = (eventId: string) =>
      waitFor(
        `the SMS and WhatsApp of ${eventId} settled`,
        async () => {
          const rows = await gateway.deliveries.find({ eventId });
          const twilio = rows.filter((r) => r.channel === 'sms' || r.channel === 'whatsapp');
          return twilio.length === 2 && twilio.every((r) => ['delivered', 'undelivered'].includes(r.status))
            ? twilio.map((r) => [r.channel, r.status, r.errorCode]).sort()
            : undefined;
        },
        { timeoutMs: 30_000 },
      );
    expect(await settled(ok.eventId)).toEqual([
      ['sms', 'delivered', null],
      ['whatsapp', 'delivered', null],
    ]);
    expect(await settled(failed.eventId)).toEqual([
      ['sms', 'undelivered', 'TWILIO_30003'],
      ['whatsapp', 'undelivered', 'TWILIO_30003'],
    ]);
    // The sandbox agrees: each message's own record is what the ledger now says.
    const [sms] = await gateway.deliveries.find({ eventId: ok.eventId, channel: 'sms' });
    expect(gateway.sandbox.store.get(sms!.providerId!)?.status).toBe('delivered');

    expect(await reconciledCounts(`${gateway.apiUrl}/metrics`)).toEqual({
      'sms:delivered': 1,
      'whatsapp:delivered': 1,
      'sms:undelivered': 1,
      'whatsapp:undelivered': 1,
    });
  });
});

describe('the status reconciler while PostgreSQL or Twilio is away', () => {
  const config = testConfig(uniquePrefix('reconcile-outage'));
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let pool: pg.Pool;
  let sandbox: SandboxHandle;
  let sandboxUrl: string;
  const closing: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    database = await freshDatabase(config.DATABASE_URL);
    pool = createPool(database.url, testLogger);
    sandbox = await buildSandboxApp({
      accountSid: config.TWILIO_ACCOUNT_SID,
      authToken: config.TWILIO_AUTH_TOKEN,
      logger: testLogger,
    });
    sandboxUrl = await sandbox.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    for (const close of closing.reverse()) await close();
    await sandbox?.app.close();
    await pool?.end();
    await database?.drop();
  });

  /** An SMS Twilio took and delivered, recorded `queued`: its callbacks never came. */
  async function sentWithoutCallbacks(): Promise<DeliveryKey> {
    const adapter = createTwilioChannel({
      channel: 'sms',
      accountSid: config.TWILIO_ACCOUNT_SID,
      authToken: config.TWILIO_AUTH_TOKEN,
      baseUrl: sandboxUrl,
      from: config.TWILIO_SMS_FROM,
    });
    const key: DeliveryKey = { eventId: randomUUID(), eventType: 'BOOKING_CONFIRMED', channel: 'sms', userId: 'rc' };
    const deliveries = createDeliveriesRepository(pool, { cipher: fieldCipherOf(config) });
    const claim = await deliveries.claim(key);
    if (!claim.claimed) throw new Error('not claimed');
    const phone = uniquePhone();
    const sent = await adapter.send({ ...key, to: phone, idempotencyKey: 'rc', text: 'Your booking is confirmed' });
    await deliveries.markSent(claim.id, { ...sent, recipient: phone, body: 'Your booking is confirmed' });
    await waitFor('the SMS delivered at the sandbox', () => sandbox.store.get(sent.providerId)?.status === 'delivered');
    return key;
  }

  it('logs each failure, keeps running, and settles the delivery once both answer again', async () => {
    const key = await sentWithoutCallbacks();
    const postgresAddress = { host: '127.0.0.1', port: Number(new URL(database.url).port) };
    const postgres: TcpRelay = await startTcpRelay(postgresAddress);
    const twilio: TcpRelay = await startTcpRelay({ host: '127.0.0.1', port: Number(new URL(sandboxUrl).port) });
    const relayedPool = createPool(
      Object.assign(new URL(database.url), { port: String(postgres.port) }).toString(),
      testLogger,
    );
    const warnings: string[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk, _encoding, done) {
          warnings.push(String(chunk));
          done();
        },
      }),
    );
    const metrics = createMetrics();
    const reconciler = createStatusReconciler({
      store: createStatusReconcileRepository(relayedPool),
      lookup: createTwilioStatusLookup({
        accountSid: config.TWILIO_ACCOUNT_SID,
        authToken: config.TWILIO_AUTH_TOKEN,
        baseUrl: `http://127.0.0.1:${twilio.port}`,
      }),
      metrics,
      logger,
      afterSeconds: 1,
      withinHours: 1,
      batchSize: 10,
    });
    closing.push(
      () => reconciler.stop(),
      () => relayedPool.end(),
      () => postgres.close(),
      () => twilio.close(),
    );
    const status = async () =>
      ((await createDeliveriesRepository(pool, { cipher: fieldCipherOf(config) }).find({ eventId: key.eventId }))[0]
        ?.status ?? 'none') as string;
    const failedWith = (pattern: RegExp) => () => warnings.some((line) => pattern.test(line));

    await twilio.cut();
    reconciler.start();
    await waitFor('a failed question to Twilio logged', failedWith(/ECONNREFUSED/), { timeoutMs: 10_000 });
    expect(await status()).toBe('queued');

    await postgres.cut();
    await twilio.restore();
    warnings.length = 0;
    await waitFor('a failed round logged while PostgreSQL is away', failedWith(/status reconciliation failed/), {
      timeoutMs: 10_000,
    });
    expect(await status()).toBe('queued');

    await postgres.restore();
    await waitFor('the delivery settled', async () => (await status()) === 'delivered', { timeoutMs: 15_000 });
    expect((await metrics.statusesReconciled.get()).values).toEqual([
      expect.objectContaining({ labels: { channel: 'sms', status: 'delivered' }, value: 1 }),
    ]);
  });

  it('asks about a message one worker at a time, and less often each time it is still without news', async () => {
    const key = await sentWithoutCallbacks();
    const rowOf = `SELECT id FROM deliveries WHERE event_id = $1`;
    const { rows } = await pool.query<{ id: string }>(rowOf, [key.eventId]);
    // Its last change was 10 s ago; the setting asks after 1 s.
    await pool.query(`UPDATE deliveries SET updated_at = now() - interval '10 seconds' WHERE id = $1`, [rows[0]!.id]);
    const store = createStatusReconcileRepository(pool);
    const ids = (taken: Array<{ id: string }>) => taken.map((d) => d.id);

    const [one, other] = await Promise.all([store.claimUnsettled(1, 1, 10), store.claimUnsettled(1, 1, 10)]);
    expect([...ids(one), ...ids(other)]).toEqual([rows[0]!.id]);
    // Asked just now, 10 s after its change: not again until 10 s more have passed, though the setting says 1 s.
    expect(await store.claimUnsettled(1, 1, 10)).toEqual([]);
    await pool.query(`UPDATE deliveries SET status_checked_at = now() - interval '3 seconds' WHERE id = $1`, [
      rows[0]!.id,
    ]);
    expect(await store.claimUnsettled(1, 1, 10)).toEqual([]);
    await pool.query(`UPDATE deliveries SET status_checked_at = now() - interval '11 seconds' WHERE id = $1`, [
      rows[0]!.id,
    ]);
    expect(ids(await store.claimUnsettled(1, 1, 10))).toEqual([rows[0]!.id]);
  });
});
