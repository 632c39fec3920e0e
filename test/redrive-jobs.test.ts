import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { composeApi, type ComposedApi } from '../src/roles/api.role.js';
import { bookingConfirmed } from './fixtures/events.js';
import { freshDatabase } from './helpers/full-gateway.js';
import { testConfig, testKafka, testLogger, uniquePrefix } from './helpers/kafka.js';
import { waitFor } from './helpers/wait-for.js';

interface Job {
  id: number;
  status: string;
  error: string | null;
  progress: { recordsRead: number; matched: number };
  outcomes: Record<string, { redriven: number }>;
  finishedAt: string | null;
}

/**
 * Re-drive jobs that cannot finish on their own: the window ends in an aborted transaction, whose records a reader
 * never receives, so the read waits for more that never come (as it does when retention deletes records under it).
 * Each job is stopped by what an operator or the api does: a cancel, a progress deadline, a stop, a sweep.
 */
describe('re-drive jobs are stopped and accounted for', () => {
  let database: { url: string; drop: () => Promise<void> };
  let config: Config;
  let api: ComposedApi;
  let kafka: Kafka;
  let producer: Producer;
  let window: { from: string; to: string };
  const prefix = uniquePrefix('redrive-jobs');

  const call = async (target: ComposedApi, method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) => {
    const response = await target.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${config.ADMIN_TOKEN}` },
      ...(body !== undefined && { payload: body as Record<string, unknown> }),
    });
    return { status: response.statusCode, body: response.json() as Job & { message: string } };
  };
  const startStuck = async (target = api) => {
    const started = await call(target, 'POST', '/admin/redrive', { ...window, channels: ['email'], dryRun: true });
    expect(started.status).toBe(202);
    const id = started.body.id;
    // It read the one real record of the window, and waits at the aborted transaction.
    await waitFor(`re-drive ${id} read its record`, async () => {
      const job = (await call(api, 'GET', `/admin/redrive/${id}`)).body;
      return job.progress.recordsRead === 1 ? job : undefined;
    });
    return id;
  };
  const ended = (id: number, timeoutMs = 30_000) =>
    waitFor(
      `re-drive ${id} ended`,
      async () => {
        const job = (await call(api, 'GET', `/admin/redrive/${id}`)).body;
        return job.status === 'running' ? undefined : job;
      },
      { timeoutMs, intervalMs: 200 },
    );
  const withApi = async (env: Record<string, string>) =>
    composeApi(testConfig(prefix, { DATABASE_URL: database.url, ...env }), testLogger, { name: 'test-redrive-jobs' });

  beforeAll(async () => {
    database = await freshDatabase(testConfig(prefix).DATABASE_URL);
    config = testConfig(prefix, { DATABASE_URL: database.url, REDRIVE_MAX_RUNNING: '2' });
    kafka = await testKafka(config);
    api = await composeApi(config, testLogger, { name: 'test-redrive-jobs' });
    const topic = `${prefix}booking-confirmed`;
    const from = new Date(Date.now() - 1_000).toISOString();
    const event = bookingConfirmed({ eventId: randomUUID(), pnrNumber: 'RJ0001', userId: 'rj-1', userEmail: 'a@b.in' });
    const plain = kafka.producer();
    await plain.connect();
    await plain.send({ topic, messages: [{ partition: 0, key: 'RJ0001', value: JSON.stringify(event) }] });
    await plain.disconnect();
    producer = kafka.producer({ transactionalId: `${prefix}tx`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const transaction = await producer.transaction();
    await transaction.send({ topic, messages: [{ partition: 0, key: 'RJ0002', value: JSON.stringify(event) }] });
    await transaction.abort();
    window = { from, to: new Date(Date.now() + 1_000).toISOString() };
  });
  afterAll(async () => {
    await producer?.disconnect();
    await api?.close();
    await database?.drop();
  });

  it('cancels a running job: DELETE /admin/redrive/:id ends it cancelled, with its counts so far', async () => {
    const id = await startStuck();
    const cancelled = await call(api, 'DELETE', `/admin/redrive/${id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id, status: 'cancelled', progress: { recordsRead: 1, matched: 1 } });
    expect(cancelled.body.outcomes.email!.redriven).toBe(1);
    expect(cancelled.body.error).toMatch(/^cancelled by admin/);
    expect(cancelled.body.finishedAt).not.toBeNull();
    expect((await call(api, 'GET', `/admin/redrive/${id}`)).body.status).toBe('cancelled');
    const again = await call(api, 'DELETE', `/admin/redrive/${id}`);
    expect(again.status).toBe(409);
    expect(again.body.message).toBe(`re-drive ${id} is not running: it ended cancelled`);
    expect((await call(api, 'DELETE', '/admin/redrive/999999')).status).toBe(404);
  });

  it('refuses a job past REDRIVE_MAX_RUNNING with a 429 that says why, and takes one again once one ends', async () => {
    const running = [await startStuck(), await startStuck()];
    const refused = await call(api, 'POST', '/admin/redrive', { ...window, dryRun: true });
    expect(refused.status).toBe(429);
    expect(refused.body.message).toBe(
      '2 re-drives are running, the most allowed at once (REDRIVE_MAX_RUNNING); wait for one to end or cancel one',
    );
    await call(api, 'DELETE', `/admin/redrive/${running[0]}`);
    const third = await startStuck();
    for (const id of [running[1]!, third]) expect((await call(api, 'DELETE', `/admin/redrive/${id}`)).status).toBe(200);
  });

  it('fails a job that makes no progress for REDRIVE_STALL_TIMEOUT_MS, with the reason', async () => {
    const impatient = await withApi({ REDRIVE_STALL_TIMEOUT_MS: '1500' });
    try {
      const id = await startStuck(impatient);
      const job = await ended(id);
      expect(job.status).toBe('failed');
      expect(job.error).toMatch(/^no progress for 1500 ms \(1 of \d+ records read, 0 of 1 partitions done\)$/);
      expect(job.progress.recordsRead).toBe(1);
    } finally {
      await impatient.close();
    }
  });

  it('cancels the jobs of an api that stops, within its shutdown deadline: recorded interrupted, not running', async () => {
    const stopping = await withApi({ SHUTDOWN_TIMEOUT_MS: '4000' });
    const id = await startStuck(stopping);
    await Promise.race([
      stopping.close(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('the api did not stop within 20 s')), 20_000)),
    ]);
    const job = (await call(api, 'GET', `/admin/redrive/${id}`)).body;
    expect(job.status).toBe('cancelled');
    expect(job.error).toBe('interrupted: the api running it stopped');
    expect(job.progress.recordsRead).toBe(1);
  });

  it('fails, at the start of an api, a job that a dead process left running', async () => {
    // What a process killed in the middle of a re-drive leaves behind: the row running, its heartbeat long stopped.
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client
      .query<{ id: string }>(
        `INSERT INTO redrive_jobs (request, dry_run, heartbeat_at) VALUES ($1, true, now() - interval '1 hour')
         RETURNING id`,
        [JSON.stringify(window)],
      )
      .finally(() => client.end());
    const id = Number(rows[0]!.id);
    const next = await withApi({});
    try {
      const job = (await call(next, 'GET', `/admin/redrive/${id}`)).body;
      expect(job.status).toBe('failed');
      expect(job.error).toMatch(/^abandoned: the api process running it stopped without ending it/);
    } finally {
      await next.close();
    }
  });
});
