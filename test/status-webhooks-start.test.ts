import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../src/db/pool.js';
import { createMetrics } from '../src/metrics.js';
import { createStatusWebhooks } from '../src/webhooks/status-webhooks.js';
import { fieldCipherOf } from '../src/util/field-cipher.js';
import { freshDatabase } from './helpers/full-gateway.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';

const WORKERS = 4;

describe('status webhooks in workers starting together', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => {
    database = await freshDatabase(testConfig(uniquePrefix('webhooks-start')).DATABASE_URL);
  }, 60_000);
  afterAll(() => database?.drop());

  it('start on a new database, each of them, where the job queue is made once', async () => {
    const pools = Array.from({ length: WORKERS }, () => createPool(database.url, testLogger, 2));
    const hooks = pools.map((pool) =>
      createStatusWebhooks({
        databaseUrl: database.url,
        pool,
        cipher: fieldCipherOf(testConfig('webhooks-start')),
        logger: testLogger,
        retryDelaySeconds: 1,
        retryHours: 1,
        timeoutMs: 1_000,
        concurrency: 1,
        perReceiver: 1,
        addresses: { blockPrivate: false, allowed: [] },
        metrics: createMetrics(),
      }),
    );
    try {
      const started = await Promise.allSettled(hooks.map((h) => h.start()));
      expect(started.filter((s) => s.status === 'rejected')).toEqual([]);
      const { rows } = await pools[0]!.query(
        `SELECT count(*)::int AS queues FROM pgboss.queue WHERE name = 'delivery-status-webhooks'`,
      );
      expect(rows).toEqual([{ queues: 1 }]);
    } finally {
      await Promise.allSettled(hooks.map((h) => h.stop()));
      await Promise.all(pools.map((p) => p.end()));
    }
  }, 60_000);
});
