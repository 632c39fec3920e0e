import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../src/db/pool.js';
import { createOptOutsRepository } from '../src/store/opt-outs.repository.js';
import { fieldCipherOf } from '../src/util/field-cipher.js';
import { freshDatabase, uniquePhone } from './helpers/full-gateway.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';

/** Which numbers replied STOP is kept by a keyed hash of each: the table alone names no one's number. */
describe('opt-outs at rest', () => {
  const config = testConfig(uniquePrefix('optouts'));
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let pool: pg.Pool;
  const table = async () =>
    (await pool.query<{ phone_hash: string; channel: string }>('SELECT phone_hash, channel FROM phone_opt_outs')).rows;

  beforeAll(async () => {
    database = await freshDatabase(config.DATABASE_URL);
    pool = createPool(database.url, testLogger, 2);
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('stores no number, finds a STOP by the number in any spelling, and forgets it on START', async () => {
    const optOuts = createOptOutsRepository(pool, fieldCipherOf(config));
    const phone = uniquePhone();
    await optOuts.optOut(`whatsapp:${phone}`, 'whatsapp');
    const rows = await table();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(phone.slice(3));
    expect(await optOuts.isOptedOut(phone, 'whatsapp')).toBe(true);
    expect(await optOuts.isOptedOut(phone, 'sms')).toBe(false);
    expect(await optOuts.isOptedOut(uniquePhone(), 'whatsapp')).toBe(false);
    await optOuts.optIn(phone, 'whatsapp');
    expect(await optOuts.isOptedOut(phone, 'whatsapp')).toBe(false);
  });

  it('replaces a number stored before hashing with its hash, keeping when it opted out', async () => {
    const optOuts = createOptOutsRepository(pool, fieldCipherOf(config));
    const phone = uniquePhone();
    await pool.query(
      `INSERT INTO phone_opt_outs (phone_hash, channel, opted_out_at) VALUES ($1, 'sms', '2026-01-02T03:04:05Z')`,
      [phone],
    );
    expect(await optOuts.hashStoredNumbers()).toBe(1);
    expect(await optOuts.hashStoredNumbers()).toBe(0);
    expect(JSON.stringify(await table())).not.toContain(phone.slice(3));
    expect(await optOuts.isOptedOut(phone, 'sms')).toBe(true);
    const { rows } = await pool.query<{ at: Date }>(
      `SELECT opted_out_at AS at FROM phone_opt_outs WHERE phone_hash = $1`,
      [fieldCipherOf(config).hash(phone)],
    );
    expect(rows[0]!.at.toISOString()).toBe('2026-01-02T03:04:05.000Z');
  });
});
