import pg from 'pg';
import type { Logger } from '../logger.js';

/**
 * Deadlines for every statement: a database that stops answering fails the call (and the delivery is retried)
 * instead of holding a consumer's records, and the claims in them, for ever.
 */
export const POOL_DEADLINES = {
  /** Waiting for a connection, from the pool or a new one. */
  connectionTimeoutMillis: 5_000,
  /** The server cancels a statement running longer than this. */
  statement_timeout: 15_000,
  /** The client gives up on an answer after this (a server that hung without cancelling). */
  query_timeout: 20_000,
  /** A transaction left open by a stuck caller is ended by the server, releasing its locks. */
  idle_in_transaction_session_timeout: 30_000,
} as const;

/** One pool per process; an idle client dropped by the server is logged, never fatal. */
export function createPool(databaseUrl: string, logger: Logger, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max, keepAlive: true, ...POOL_DEADLINES });
  // The code and message only: the error carries the whole client, settings and all.
  pool.on('error', (error: Error & { code?: string }) =>
    logger.warn({ code: error.code, error: error.message }, 'idle PostgreSQL client lost'),
  );
  return pool;
}
