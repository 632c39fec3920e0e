import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { ensureDatabase, migrate } from '../src/db/migrate.js';
import { composeApi, type ComposedApi } from '../src/roles/api.role.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';

/**
 * Behind a load balancer every request comes from the balancer's address. With TRUST_PROXY naming it, the limits
 * count per client as X-Forwarded-For names it; without, the header is ignored, so a client cannot make itself a new
 * bucket by writing one. The test is the balancer: inject's requests come from 127.0.0.1.
 */
const LIMITS = { RATE_LIMIT_ADMIN: '3' };

let behindProxy: { api: ComposedApi; config: Config };
let direct: { api: ComposedApi; config: Config };

async function start(label: string, env: Record<string, string>) {
  const config = testConfig(uniquePrefix(label), { ...LIMITS, ...env });
  return { api: await composeApi(config, testLogger, { name: `test-${label}` }), config };
}

beforeAll(async () => {
  const { DATABASE_URL } = testConfig('proxies');
  await ensureDatabase(DATABASE_URL);
  await migrate({ databaseUrl: DATABASE_URL, logger: testLogger });
  behindProxy = await start('proxied', { TRUST_PROXY: '127.0.0.1' });
  direct = await start('direct', {});
});

afterAll(async () => {
  await behindProxy?.api.close();
  await direct?.api.close();
});

const adminDlq = (api: ComposedApi, token: string, from: string) =>
  api.app.inject({ url: '/admin/dlq', headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': from } });

describe('trusted proxies', () => {
  it('gives each client behind a trusted proxy its own bucket: a guesser is locked out, the operator is not', async () => {
    const { api, config } = behindProxy;
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await adminDlq(api, `guess-${i}`, '198.51.100.31')).statusCode);
    expect(statuses).toEqual([403, 403, 403, 429]);
    // The operator's address has a budget of its own, and so has another guesser's.
    const operator = await adminDlq(api, config.ADMIN_TOKEN, '192.0.2.31');
    expect(operator.statusCode, operator.body).toBe(200);
    expect((await adminDlq(api, 'guess-4', '198.51.100.32')).statusCode).toBe(403);
    // The first client stays locked out, whatever it presents.
    expect((await adminDlq(api, config.ADMIN_TOKEN, '198.51.100.31')).statusCode).toBe(429);
  });

  it('ignores X-Forwarded-For when no proxy is trusted: a made-up address escapes nothing', async () => {
    const { api } = direct;
    const statuses = [];
    for (let i = 0; i < 4; i += 1)
      statuses.push((await adminDlq(api, `guess-${i}`, `198.51.100.${40 + i}`)).statusCode);
    expect(statuses).toEqual([403, 403, 403, 429]);
    const retry = await adminDlq(api, 'guess-4', '192.0.2.41');
    expect(retry.statusCode).toBe(429);
    expect(Number(retry.headers['retry-after'])).toBeGreaterThan(0);
  });
});
