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

/** Our own session lock: node-pg-migrate's is a try-lock that fails when another process migrates at the same time. */
const MIGRATE_LOCK_KEY = 4_180_231_907;

/**
 * Applies pending migrations from migrations/ in one transaction. Processes that start together (api, bridge,
 * workers) wait for each other on an advisory lock, so each file is applied exactly once and none fails.
 * Returns the names applied by this call.
 */
export async function migrate({ databaseUrl, logger }: { databaseUrl: string; logger: Logger }): Promise<string[]> {
  const lock = new pg.Client({ connectionString: databaseUrl });
  lock.on('error', (error) => logger.warn({ err: error }, 'migration lock connection lost'));
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]);
    return await runPending(databaseUrl, logger);
  } finally {
    await lock.end();
  }
}

async function runPending(databaseUrl: string, logger: Logger): Promise<string[]> {
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
