import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { createPool } from '../src/db/pool.js';
import { createMetrics } from '../src/metrics.js';
import { createEventProducer, type EventProducer } from '../src/producer/event-producer.js';
import { createWorker } from '../src/roles/worker.composition.js';
import { bookingConfirmed } from './fixtures/events.js';
import { freshDatabase, uniqueEmail, uniquePhone } from './helpers/full-gateway.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';
import { startTestSmtpServer, type TestSmtpServer } from './helpers/smtp-test-server.js';
import { unchangedFor, waitFor } from './helpers/wait-for.js';

const EMAILS = 80;
const CONNECTIONS = 2;
/** Each message takes the relay this long: the 80 need 40 s over two connections. */
const SMTP_MS = 1_000;

type Worker = Awaited<ReturnType<typeof createWorker>>;

/**
 * Email keeps as many deliveries in flight as the other channels, though SMTP carries one message per connection at a
 * time: those beyond the connections wait at a gate where a rebalance or a stop gives them up, certainly unsent, for
 * the next owner. Only the messages already on a connection are waited for.
 */
describe('emails waiting for an SMTP connection', () => {
  let smtp: TestSmtpServer;
  let config: Config;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let producer: EventProducer;
  let pool: ReturnType<typeof createPool>;
  const workers: Worker[] = [];

  beforeAll(async () => {
    smtp = await startTestSmtpServer({ dataDelayMs: SMTP_MS });
    const prefix = uniquePrefix('hand-over');
    database = await freshDatabase(testConfig(prefix).DATABASE_URL);
    config = testConfig(prefix, {
      DATABASE_URL: database.url,
      SMTP_URL: smtp.url,
      SMTP_LOOKUP_URL: 'none',
      SMTP_MAX_CONNECTIONS: String(CONNECTIONS),
      WORKER_CHANNELS: 'email',
      WORKER_CONCURRENCY: '64',
    });
    producer = createEventProducer({ brokers: config.KAFKA_BROKERS, logger: testLogger, topicPrefix: prefix });
    pool = createPool(config.DATABASE_URL, testLogger);
  }, 60_000);
  afterAll(async () => {
    for (const worker of workers) await worker.stop().catch(() => {});
    await producer?.stop();
    await pool?.end();
    await smtp?.close();
    await database?.drop();
  }, 60_000);

  const startWorker = async (metrics = createMetrics()) => {
    const worker = await createWorker({ config, logger: testLogger, metrics });
    await worker.start();
    workers.push(worker);
    return worker;
  };
  const count = async (sql: string) => Number((await pool.query<{ n: string }>(sql)).rows[0]!.n);

  it('are given up unsent by a rebalance and a stop, which wait only for the messages on a connection', async () => {
    const firstMetrics = createMetrics();
    const first = await startWorker(firstMetrics);
    /** Deliveries the first worker gave up unsent, as its /metrics counts them. */
    const handedOver = async () =>
      (await firstMetrics.deliveryOutcomes.get()).values
        .filter((v) => v.labels.outcome === 'handed-over')
        .reduce((sum, v) => sum + v.value, 0);
    const run = randomBytes(3).toString('hex');
    const travellers = Array.from({ length: EMAILS }, (_, i) => ({
      userId: `hand-over-${run}-${i}`,
      email: uniqueEmail(`handover${i}`),
    }));
    await producer.publishMany(
      travellers.map((t, i) =>
        bookingConfirmed({
          eventId: undefined,
          pnrNumber: `HO${run.toUpperCase()}${String(i).padStart(3, '0')}`,
          userId: t.userId,
          userEmail: t.email,
          userPhone: uniquePhone(),
        }),
      ),
    );

    // Far more claimed than the two connections carry: the in-flight bound is no longer twice the connections.
    const claimed = `SELECT count(*) AS n FROM deliveries WHERE channel = 'email' AND status = 'sending' AND lease_until > now()`;
    await waitFor('most emails claimed and waiting for a connection', async () => (await count(claimed)) >= 30, {
      timeoutMs: 30_000,
      intervalMs: 50,
    });
    expect(smtp.received.length).toBeLessThan(EMAILS / 2);

    // A second worker joins: the first hears of the rebalance at its next heartbeat and gives up what waits.
    await startWorker();
    await waitFor('sends given up at the rebalance', async () => (await handedOver()) > 0, {
      timeoutMs: 10_000,
      intervalMs: 50,
    });

    // Stopping waits for the messages on the first worker's two connections (and for its groups to leave, pg-boss to
    // stop: about five seconds on a busy machine), not for the claimed emails queued behind them, a second each.
    await waitFor('the first worker sending again', async () => (await count(claimed)) >= 10, { timeoutMs: 20_000 });
    const stopping = performance.now();
    await first.stop();
    workers.splice(workers.indexOf(first), 1);
    expect(performance.now() - stopping).toBeLessThan(10_000);

    await waitFor('every email at the relay', () => smtp.received.length >= EMAILS, { timeoutMs: 90_000 });
    await unchangedFor('no second copy', () => smtp.received.length, 3_000);
    const copies = new Map<string, number>();
    for (const mail of smtp.received) for (const to of mail.to) copies.set(to, (copies.get(to) ?? 0) + 1);
    expect(
      travellers.filter((t) => copies.get(t.email) !== 1).map((t) => `${t.email}×${copies.get(t.email) ?? 0}`),
    ).toEqual([]);
    // Given back, not tried: each email was claimed once more by its next owner and sent on that first attempt.
    expect(
      await count(
        `SELECT count(*) AS n FROM deliveries WHERE channel = 'email' AND (status <> 'sent' OR attempts <> 1)`,
      ),
    ).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM delivery_attempts`)).toBe(0);
  }, 180_000);
});
