import pg from 'pg';
import type { Logger } from '../logger.js';

/** One pool per process; an idle client dropped by the server is logged, never fatal. */
export function createPool(databaseUrl: string, logger: Logger, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  pool.on('error', (error) => logger.warn({ err: error }, 'idle PostgreSQL client lost'));
  return pool;
}
