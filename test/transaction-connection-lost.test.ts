import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type pg from 'pg';
import { createPool } from '../src/db/pool.js';
import { withTransaction } from '../src/db/transaction.js';
import { testConfig, testLogger } from './helpers/kafka.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * The server ends a connection while a transaction holds it between two statements (a restart, a failover): the
 * transaction fails with the cause, the process goes on (an unheard 'error' event would be an uncaught exception),
 * and the pool never hands the dead connection out again.
 */
describe('a transaction whose connection the server ends', () => {
  let pool: pg.Pool;
  let admin: pg.Pool;
  beforeAll(() => {
    const url = testConfig('tx-lost').DATABASE_URL;
    pool = createPool(url, testLogger, 1);
    admin = createPool(url, testLogger, 1);
  });
  afterAll(async () => {
    await pool?.end();
    await admin?.end();
  });

  it('fails the transaction, leaves the process running, and the next statement gets a live connection', async () => {
    // What would have stopped the gateway (close-with-grace stops the process on an uncaught exception).
    const uncaught: unknown[] = [];
    const heard = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', heard);
    onTestFinished(() => void process.off('uncaughtException', heard));
    const ended = withTransaction(pool, async (client) => {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const pid = rows[0]!.pid;
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      // Between statements, as the server's goodbye arrives: nothing of ours is asking it anything.
      await waitFor('the connection to be gone', async () => {
        const { rowCount } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
        return rowCount === 0;
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await client.query('SELECT 1');
    });
    await expect(ended).rejects.toThrow();
    expect(uncaught.map(String)).toEqual([]);
    // One connection in the pool: had the dead one gone back, this would fail.
    const { rows } = await pool.query<{ ok: number }>('SELECT 1 AS ok');
    expect(rows).toEqual([{ ok: 1 }]);
  });
});
