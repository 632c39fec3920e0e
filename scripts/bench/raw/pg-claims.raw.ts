/**
 * PostgreSQL's rate for the gateway's claim rows: INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING, 200
 * rows a statement, 6 connections, into the real `deliveries` table (its unique key, checks and indexes) of a
 * database of our own, migrated as the gateway migrates and dropped afterwards.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ensureDatabase, migrate } from '../../../src/db/migrate.js';
import { closedLoop, silentLogger, stackConfig, uniqueSuffix } from './shared.js';

const PAGE = 200;
const CONNECTIONS = 6;
const WARMUP_MS = 1_000;
const DURATION_MS = 5_000;
const CHANNELS = ['email', 'sms', 'whatsapp', 'websocket'];
const EVENT_TYPES = ['BOOKING_CONFIRMED', 'BOOKING_CANCELLED', 'PAYMENT_COMPLETED', 'TRAVEL_DISRUPTION'];

const INSERT_CLAIMS = `
  INSERT INTO deliveries (idempotency_key, event_id, event_type, channel, user_id, status, attempts, lease_until)
  SELECT key, event_id, event_type, channel, user_id, 'sending', 1, now() + interval '30 seconds'
    FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[]) AS c(key, event_id, event_type, channel, user_id)
  ON CONFLICT (idempotency_key) DO NOTHING`;

/** A fresh database, named so that a leftover is recognisable as ours; `drop` forces out any session still in it. */
async function freshDatabase(base: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `bench_raw_${uniqueSuffix()}`;
  const url = Object.assign(new URL(base), { pathname: `/${name}` }).toString();
  const drop = async () => {
    const admin = new pg.Client({
      connectionString: Object.assign(new URL(base), { pathname: '/postgres' }).toString(),
    });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  };
  try {
    await ensureDatabase(url);
    await migrate({ databaseUrl: url, logger: silentLogger });
  } catch (error) {
    await drop().catch(() => undefined); // created but not migrated: it must not stay behind either
    throw error;
  }
  return { url, drop };
}

/** One page of claims as a worker would make them: one event, its channels, distinct users; keys never repeat. */
function claimPage(): unknown[][] {
  const keys: string[] = [],
    events: string[] = [],
    types: string[] = [],
    channels: string[] = [],
    users: string[] = [];
  const eventId = randomUUID();
  const eventType = EVENT_TYPES[Math.floor(Math.random() * EVENT_TYPES.length)]!;
  for (let i = 0; i < PAGE; i++) {
    const channel = CHANNELS[i % CHANNELS.length]!;
    const userId = String(100_000 + Math.floor(i / CHANNELS.length));
    keys.push(`${eventId}:${channel}:${userId}`);
    events.push(eventId);
    types.push(eventType);
    channels.push(channel);
    users.push(userId);
  }
  return [keys, events, types, channels, users];
}

/** Rows claimed/s (rows actually inserted, as ON CONFLICT may skip some). */
export async function measurePgClaims(progress: (line: string) => void): Promise<number> {
  const database = await freshDatabase(stackConfig().DATABASE_URL);
  const pool = new pg.Pool({ connectionString: database.url, max: CONNECTIONS });
  pool.on('error', () => undefined); // an idle client lost at the drop is no news
  try {
    return await closedLoop({
      concurrency: CONNECTIONS,
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
      progress,
      label: 'pg claim inserts',
      op: async () => (await pool.query(INSERT_CLAIMS, claimPage())).rowCount ?? 0,
    });
  } finally {
    await pool.end().catch(() => undefined);
    await database
      .drop()
      .catch((error: Error) => progress(`pg claims: could not drop the bench database: ${error.message}`));
  }
}
