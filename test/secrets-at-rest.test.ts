import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../src/db/pool.js';
import { createStatusWebhooksRepository } from '../src/store/status-webhooks.repository.js';
import { createFieldCipher, parseDataKeys } from '../src/util/field-cipher.js';
import { freshDatabase } from './helpers/full-gateway.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';

const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;

/** Webhook signing secrets in PostgreSQL: sealed with the data keys, readable across a rotation, and moved onto the new key. */
describe('signing secrets at rest', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let pool: pg.Pool;
  const hashKey = randomBytes(32);
  const k1 = key('k1');
  const k2 = key('k2');
  const repositoryWith = (keys: string) =>
    createStatusWebhooksRepository(pool, createFieldCipher({ keys: parseDataKeys(keys), hashKey }));
  const storedSecret = async (id: number) =>
    (await pool.query<{ secret: string }>('SELECT secret FROM status_webhooks WHERE id = $1', [id])).rows[0]!.secret;
  const register = (keys: string, secret: string) =>
    repositoryWith(keys).create({
      keyDigest: randomBytes(32).toString('hex'),
      keyHint: 'abcd',
      url: 'https://hooks.example.com/status',
      secret,
      statuses: ['sent'],
    });

  beforeAll(async () => {
    database = await freshDatabase(testConfig(uniquePrefix('secrets')).DATABASE_URL);
    pool = createPool(database.url, testLogger, 2);
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('never stores the secret itself, and gives it back to sign with', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const webhook = await register(k1, secret);
    const stored = await storedSecret(webhook.id);
    expect(stored).toMatch(/^enc:v1:k1:/);
    expect(stored).not.toContain(secret.slice('whsec_'.length, 20));
    expect((await repositoryWith(k1).target(webhook.id))?.secret).toBe(secret);
  });

  it('reads a secret sealed with the old key after a rotation, and seals it again with the new one', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const webhook = await register(k1, secret);
    expect((await repositoryWith(`${k2},${k1}`).target(webhook.id))?.secret).toBe(secret);
    expect(await storedSecret(webhook.id)).toMatch(/^enc:v1:k2:/);
    // The old key can go once the values sealed with it have moved.
    expect((await repositoryWith(k2).target(webhook.id))?.secret).toBe(secret);
    await expect(repositoryWith(key('k3')).target(webhook.id)).rejects.toThrow(/k2/);
  });

  it('seals a secret stored before sealing existed the first time it is read', async () => {
    const secret = 'a-receiver-own-secret-of-24-chars-or-more';
    const webhook = await register(k1, secret);
    await pool.query('UPDATE status_webhooks SET secret = $2 WHERE id = $1', [webhook.id, secret]);
    expect((await repositoryWith(k1).target(webhook.id))?.secret).toBe(secret);
    const stored = await storedSecret(webhook.id);
    expect(stored).toMatch(/^enc:v1:k1:/);
    expect(stored).not.toContain(secret);
  });
});
