import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type { Logger } from '../logger.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/** Creates the database named in the URL when the server does not have it yet (local stacks start empty). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`).catch((error: { code?: string }) => {
        // Another process created it between our check and our create.
        if (error.code !== '42P04') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

/**
 * Applies pending migrations from migrations/ in one transaction, under node-pg-migrate's advisory lock, so that
 * several processes starting at once apply each file exactly once. Returns the names applied.
 */
export async function migrate({ databaseUrl, logger }: { databaseUrl: string; logger: Logger }): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    singleTransaction: true,
    checkOrder: true,
    log: (message) => logger.debug(message),
    logger: {
      debug: () => {},
      info: (m) => logger.debug(m),
      warn: (m) => logger.warn(m),
      // Our files are numbered (0001_…), not timestamped; node-pg-migrate says so at error level, then orders them by
      // number, which is what we want. Real failures reach us as exceptions.
      error: (m) => (/determine timestamp/.test(String(m)) ? logger.debug(m) : logger.error(m)),
    },
  });
  return applied.map((migration) => migration.name);
}
