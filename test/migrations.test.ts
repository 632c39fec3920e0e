import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { MIGRATIONS_DIR, ensureDatabase, migrate } from '../src/db/migrate.js';
import { testLogger } from './helpers/kafka.js';

/** A database of its own, so this test sees migrations run on an empty schema. */
const base = new URL(loadConfig().DATABASE_URL);
const name = `gateway_migrations_${randomBytes(4).toString('hex')}`;
const databaseUrl = Object.assign(new URL(base), { pathname: `/${name}` }).toString();

async function query<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  const admin = new pg.Client({ connectionString: Object.assign(new URL(base), { pathname: '/postgres' }).toString() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
});

describe('migrations', () => {
  it('apply every file once, even when three processes start together', async () => {
    await ensureDatabase(databaseUrl);
    const runs = await Promise.all([1, 2, 3].map(() => migrate({ databaseUrl, logger: testLogger })));
    const files = readdirSync(MIGRATIONS_DIR)
      .filter((f) => f.endsWith('.sql'))
      .map((f) => f.replace(/\.sql$/, ''));
    expect(runs.flat().sort()).toEqual(files.sort());
    const applied = await query<{ name: string }>('SELECT name FROM pgmigrations ORDER BY id');
    expect(applied.map((r) => r.name)).toEqual(files.sort());
    expect(await migrate({ databaseUrl, logger: testLogger })).toEqual([]);
  });

  it('create the tables the gateway needs', async () => {
    const rows = await query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    expect(rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining([
        'users',
        'preferences',
        'itineraries',
        'deliveries',
        'delivery_attempts',
        'dead_letters',
        'inbox',
      ]),
    );
  });

  it('let a delivery be claimed once per idempotency key', async () => {
    const claim = `INSERT INTO deliveries (idempotency_key, event_id, event_type, channel, user_id, status)
                   VALUES ($1, $2, 'BOOKING_CONFIRMED', 'email', 'u1', 'sending')
                   ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`;
    const eventId = '7d3c5a9e-4c2b-4f7a-9a51-0c1e2d3f4a5b';
    const key = `${eventId}:email:u1`;
    const results = await Promise.all([1, 2, 3, 4].map(() => query(claim, [key, eventId])));
    expect(results.filter((rows) => rows.length === 1)).toHaveLength(1);
  });
});
