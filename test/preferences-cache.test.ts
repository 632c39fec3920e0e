import { randomBytes } from 'node:crypto';
import { fieldCipherOf } from '../src/util/field-cipher.js';
import net from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createPreferencesRepository } from '../src/store/preferences.repository.js';
import { uniquePhone } from './helpers/full-gateway.js';
import { waitFor } from './helpers/wait-for.js';

/** A TCP relay to the real Redis that the test can cut, as a network or Redis failure would. */
async function cuttableRelay(target: URL): Promise<{ url: string; cut: () => void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 6379), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    cut: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

/**
 * Redis failing just after a preferences commit must neither fail the write (it is committed: the caller gets its
 * answer) nor leave the profile from before it in the cache for the next event to read.
 */
describe('the profile cache around a committed preferences write', () => {
  const config = loadConfig();
  const keyPrefix = `test:profile:${randomBytes(4).toString('hex')}:`;
  let pool: pg.Pool;
  let direct: Redis;
  beforeAll(() => {
    pool = new pg.Pool({ connectionString: config.DATABASE_URL });
    direct = new Redis(config.REDIS_URL);
  });
  afterAll(async () => {
    await pool.end();
    direct.disconnect();
  });

  it('answers with the committed profile and serves no stale one when Redis fails after the commit', async () => {
    const relay = await cuttableRelay(new URL(config.REDIS_URL));
    const relayed = new Redis(relay.url); // defaults, as the api's client has
    relayed.on('error', () => {});
    const writer = createPreferencesRepository({ pool, redis: relayed, cipher: fieldCipherOf(config), keyPrefix });
    const reader = createPreferencesRepository({ pool, redis: direct, cipher: fieldCipherOf(config), keyPrefix });
    const userId = `cache-${randomBytes(3).toString('hex')}`;
    await writer.update(userId, { phone: uniquePhone() });
    expect((await reader.get(userId))!.channels).toEqual({}); // cached, for 5 minutes

    // Hold the user's row so the next write waits inside its transaction; cut Redis; let the write commit.
    const holder = await pool.connect();
    const started = Date.now();
    let write: Promise<{ channels: unknown }>;
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM users WHERE user_id = $1 FOR UPDATE', [userId]);
      write = writer.update(userId, { channels: { sms: false } });
      write.catch(() => {});
      await waitFor(
        'the write waiting on the row',
        async () =>
          (
            await pool.query(
              `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO users%' AND pid <> pg_backend_pid()`,
            )
          ).rowCount! > 0 || undefined,
      );
      relay.cut();
    } finally {
      await holder.query('COMMIT');
      holder.release();
    }

    const profile = await write;
    expect(profile.channels).toEqual({ sms: false });
    expect(Date.now() - started).toBeLessThan(5000);
    const {
      rows: [stored],
    } = await pool.query(`SELECT channels FROM preferences WHERE user_id = $1`, [userId]);
    expect(stored.channels).toEqual({ sms: false });
    // The next event, on a process whose Redis works, sees the change: not the profile cached before it.
    expect((await reader.get(userId))!.channels).toEqual({ sms: false });
    expect(await direct.get(`${keyPrefix}${userId}`)).not.toContain('"channels":{}');
    relayed.disconnect();
  });

  it('refuses a write it cannot mark in the cache, committing nothing', async () => {
    const relay = await cuttableRelay(new URL(config.REDIS_URL));
    const relayed = new Redis(relay.url, { maxRetriesPerRequest: 1 });
    relayed.on('error', () => {});
    const writer = createPreferencesRepository({ pool, redis: relayed, cipher: fieldCipherOf(config), keyPrefix });
    const userId = `cache-${randomBytes(3).toString('hex')}`;
    await writer.update(userId, { locale: 'en' });
    relay.cut();
    await expect(writer.update(userId, { channels: { email: false } })).rejects.toThrow();
    const {
      rows: [stored],
    } = await pool.query(`SELECT channels FROM preferences WHERE user_id = $1`, [userId]);
    expect(stored.channels).toEqual({});
    relayed.disconnect();
  });
});
