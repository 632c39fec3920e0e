import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../src/db/pool.js';
import { startResealing } from '../../src/roles/resealer.composition.js';
import { fieldCipherOf } from '../../src/util/field-cipher.js';
import { freshDatabase } from '../helpers/full-gateway.js';
import { testConfig, testLogger, uniquePrefix } from '../helpers/kafka.js';
import { startServer, stopServer } from '../helpers/server-control.js';
import { waitFor } from '../helpers/wait-for.js';

const ROWS = 5_000;

/**
 * PostgreSQL is away when the resealer starts its walk (an api starting during an upgrade, say): the walk fails,
 * waits, and walks again once the database is back, until every row is sealed with what it said before. A walk
 * interrupted half way is the same case: rows already sealed are not read again.
 */
describe('fault: PostgreSQL restarts while stored data is being sealed', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let pool: pg.Pool;
  /** Set while the test holds PostgreSQL stopped, so that a failure in between still starts it again. */
  let away = false;
  const config = () => testConfig(uniquePrefix('reseal'), { DATABASE_URL: database.url });

  beforeAll(async () => {
    database = await freshDatabase(testConfig(uniquePrefix('reseal')).DATABASE_URL);
    pool = createPool(database.url, testLogger, 2);
  }, 60_000);
  afterAll(async () => {
    if (away) await startServer('PostgreSQL');
    await pool?.end();
    await database?.drop();
  }, 120_000);

  it('seals every row, each with what it held, after the database came back', async () => {
    // Rows as a gateway from before sealing left them: addresses and bodies in the clear.
    const eventId = randomUUID();
    const run = randomBytes(3).toString('hex');
    await pool.query(
      `INSERT INTO deliveries (idempotency_key, event_id, event_type, channel, user_id, status, recipient, body)
       SELECT 'k-' || n, $1, 'BOOKING_CONFIRMED', 'email', 'u-' || n, 'sent', 'p' || n || '.' || $2 || '@example.com',
              'Your PNR ' || n FROM generate_series(1, $3) AS n`,
      [eventId, run, ROWS],
    );
    const cipher = fieldCipherOf(config());
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
    // Away as the walk begins (an api starting during the upgrade), back a few seconds later.
    stopServer('PostgreSQL');
    away = true;
    const resealing = startResealing(config(), logger, { retryMs: 1_000 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await startServer('PostgreSQL');
      away = false;

      await waitFor(
        'every row sealed',
        async () => {
          const { rows } = await pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM deliveries WHERE recipient NOT LIKE 'enc:v1:%' OR body NOT LIKE 'enc:v1:%'`,
          );
          return rows[0]!.n === 0;
        },
        { timeoutMs: 90_000, intervalMs: 1_000 },
      );
    } finally {
      await resealing.stop();
    }
    const { rows } = await pool.query<{ user_id: string; recipient: string; body: string }>(
      'SELECT user_id, recipient, body FROM deliveries ORDER BY id',
    );
    // The walk met the outage, and went on after it.
    expect(warnings.join('\n')).toContain('sealing stored data failed; trying again later');
    expect(rows).toHaveLength(ROWS);
    for (const row of rows) {
      const n = row.user_id.slice(2);
      expect(cipher.open(row.recipient, 'deliveries.recipient')).toBe(`p${n}.${run}@example.com`);
      expect(cipher.open(row.body, 'deliveries.body')).toBe(`Your PNR ${n}`);
    }
  }, 180_000);
});
