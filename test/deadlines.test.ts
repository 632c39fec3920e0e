import { randomUUID } from 'node:crypto';
import { fieldCipherOf } from '../src/util/field-cipher.js';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBreakers } from '../src/channels/breaker.js';
import { createEmailChannel } from '../src/channels/email.channel.js';
import { createTwilioChannel } from '../src/channels/twilio.channel.js';
import { createDeliveriesRepository } from '../src/store/deliveries.repository.js';
import { createDeliveryPipeline } from '../src/consumers/delivery.pipeline.js';
import { createPool } from '../src/db/pool.js';
import { parseEvent } from '../src/events/index.js';
import { createRedis } from '../src/net/redis.js';
import type { UserProfile } from '../src/preferences/profile.js';
import { buildSandboxApp, type SandboxHandle } from '../src/sandbox/sandbox.app.js';
import { createTemplateRenderer } from '../src/templates/renderer.js';
import { bookingConfirmed } from './fixtures/events.js';
import { freshDatabase, uniqueEmail, uniquePhone } from './helpers/full-gateway.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';
import { createMetrics } from '../src/metrics.js';

/** Counted here and never read: what these tests check is in the ledger and at the providers. */
const metrics = createMetrics();

const config = testConfig(uniquePrefix('deadlines'));

/** A server that accepts connections and never says a word: how a hung database, cache or mail relay looks. */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
}

/** How a call ended, and after how long. */
async function settle(
  call: () => Promise<unknown>,
): Promise<{ error?: { code?: string; message: string }; ms: number }> {
  const started = Date.now();
  try {
    await call();
    return { ms: Date.now() - started };
  } catch (error) {
    return { error: error as { code?: string; message: string }, ms: Date.now() - started };
  }
}

describe('nothing waits for ever', () => {
  let silent: Awaited<ReturnType<typeof silentServer>>;
  beforeAll(async () => {
    silent = await silentServer();
  });
  afterAll(async () => {
    await silent?.close();
  });

  it('a database that does not answer fails the query instead of holding it', async () => {
    const pool = createPool(`postgres://postgres@127.0.0.1:${silent.port}/gateway`, testLogger);
    try {
      const { error } = await settle(() => pool.query('SELECT 1'));
      expect(error?.message).toMatch(/timeout/i);
    } finally {
      await pool.end().catch(() => {});
    }
  });

  it('a statement the database runs too long is cancelled by the server', async () => {
    const pool = createPool(config.DATABASE_URL, testLogger);
    try {
      const { rows } = await pool.query<{ statement_timeout: string }>('SHOW statement_timeout');
      expect(rows[0]!.statement_timeout).toBe('15s');
      const { rows: idle } = await pool.query<{ idle_in_transaction_session_timeout: string }>(
        'SHOW idle_in_transaction_session_timeout',
      );
      expect(idle[0]!.idle_in_transaction_session_timeout).toBe('30s');
    } finally {
      await pool.end();
    }
  });

  it('a Redis that does not answer fails the command instead of holding it', async () => {
    const redis = createRedis(`redis://127.0.0.1:${silent.port}`, { lazyConnect: false });
    redis.on('error', () => {});
    try {
      const { error } = await settle(() => redis.get('gateway:profile:someone'));
      expect(error?.message).toMatch(/timed out|timeout|max retries|Connection/i);
    } finally {
      redis.disconnect();
    }
  }, 30_000);

  it('a mail relay that never answers fails the send as a provider timeout, and opens its breaker', async () => {
    const breakers = createBreakers(testLogger, { callTimeoutMs: 300, resetTimeoutMs: 60_000 });
    const email = breakers.guard(
      createEmailChannel({ smtpUrl: `smtp://127.0.0.1:${silent.port}`, from: config.SMTP_FROM }),
    );
    try {
      const message = {
        channel: 'email' as const,
        to: uniqueEmail('hung'),
        userId: 'u',
        eventId: randomUUID(),
        eventType: 'PAYMENT_COMPLETED' as const,
        idempotencyKey: 'k',
        subject: 's',
        text: 't',
      };
      const results = [];
      for (let i = 0; i < 6; i += 1)
        results.push(await settle(() => email.send({ ...message, idempotencyKey: `k${i}` })));
      expect(results[0]!.error).toMatchObject({ code: 'PROVIDER_TIMEOUT' });
      expect(breakers.state('smtp')).toBe('open');
    } finally {
      breakers.shutdown();
      await email.close();
    }
  });
});

describe('a send slower than its lease', () => {
  const LEASE_MS = 1_000;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let pool: pg.Pool;
  let sandbox: SandboxHandle;
  let sandboxUrl: string;
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
    await sandbox?.app.close();
    await pool?.end();
    await database?.drop();
  });

  it('keeps its claim: a second worker finds it held and sends nothing', async () => {
    const sms = createTwilioChannel({
      channel: 'sms',
      accountSid: config.TWILIO_ACCOUNT_SID,
      authToken: config.TWILIO_AUTH_TOKEN,
      baseUrl: sandboxUrl,
      from: config.TWILIO_SMS_FROM,
    });
    const renderer = createTemplateRenderer();
    const profile: UserProfile = {
      userId: `slow-${randomUUID()}`,
      phone: uniquePhone(),
      email: uniqueEmail('slow'),
      whatsappOptIn: false,
      locale: 'en',
      channels: {},
      eventChannels: {},
    };
    const parsed = parseEvent(
      bookingConfirmed({ userId: profile.userId, userPhone: profile.phone, userEmail: profile.email }),
    );
    if (!parsed.ok) throw new Error('fixture event is invalid');
    const worker = () =>
      createDeliveryPipeline({
        channel: 'sms',
        adapter: sms,
        renderer,
        deliveries: createDeliveriesRepository(pool, { cipher: fieldCipherOf(config), leaseMs: LEASE_MS }),
        metrics,
      });

    // Twilio takes three leases to answer: the first worker's send is still in hand when its first lease would end.
    sandbox.faults.set({ latencyMs: 3 * LEASE_MS });
    try {
      const first = worker()(parsed.event, profile);
      await sleep(2 * LEASE_MS);
      const second = await worker()(parsed.event, profile);
      expect(second.kind).toBe('held');
      expect(await first).toEqual({ kind: 'done' });
    } finally {
      sandbox.faults.clear();
    }
    expect(sandbox.store.list((m) => m.to === profile.phone)).toHaveLength(1);
  });
});
