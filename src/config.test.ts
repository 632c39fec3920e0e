import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const DEV = { NODE_ENV: 'development' };
/** Secrets as a real deployment has them: long and random-looking. */
const REAL = {
  NODE_ENV: 'production',
  INGEST_API_KEYS: 'pk_4f8a1c9e2b7d6035a1e4c8b9d2f70a6e',
  ADMIN_TOKEN: 'adm_9c3e7a1f5b2d8046e1a9c7b3d5f2084c',
  JWT_SECRET: 'jwt_2b6e9a4c1f7d3085b2e6a9c4d1f7308b',
  TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`,
  TWILIO_AUTH_TOKEN: '7e1c4a9f2b6d8035c1e7a4f9b2d60358',
  TWILIO_API_BASE_URL: 'https://api.twilio.com',
  DATA_ENCRYPTION_KEYS: 'k2026:Vq0wTnHkX1dP3c9yR6bF2mJ8aL4sE7gU5iO0pZ1xC3w=',
  DATA_HASH_KEY: 'h2Jt8Qw4Lr6Yx0Nc3Vb5Mz7Kp9Gf1Ds2Ae4Ru6Ti8Oy=',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

describe('loadConfig', () => {
  it('works on the local stack with only NODE_ENV=development', () => {
    const config = loadConfig(DEV);
    expect(config.PORT).toBe(3000);
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(config.INGEST_API_KEYS).toEqual(['dev-ingest-key']);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads lists and numbers from their string form', () => {
    const config = loadConfig({ ...DEV, KAFKA_BROKERS: 'a:9092, b:9092', PORT: '8080', INGEST_API_KEYS: 'k1,k2' });
    expect(config.KAFKA_BROKERS).toEqual(['a:9092', 'b:9092']);
    expect(config.PORT).toBe(8080);
    expect(config.INGEST_API_KEYS).toEqual(['k1', 'k2']);
  });

  it('lists every bad setting in one error', () => {
    let error: unknown;
    try {
      loadConfig({ ...DEV, PORT: 'eighty', DATABASE_URL: 'mysql://x', TWILIO_ACCOUNT_SID: 'nope', LOG_LEVEL: 'loud' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'TWILIO_ACCOUNT_SID', 'LOG_LEVEL']) expect(problems).toContain(name);
    expect((error as Error).message).toContain(
      'DATABASE_URL: must be a URL starting with postgres:// or postgresql://',
    );
  });

  it('refuses the development secrets in production, naming each', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    const problems = problemsOf({
      ...REAL,
      INGEST_API_KEYS: '',
      JWT_SECRET: '',
      TWILIO_ACCOUNT_SID: '',
      TWILIO_AUTH_TOKEN: '',
      DATA_ENCRYPTION_KEYS: '',
      DATA_HASH_KEY: '',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(
      [
        'INGEST_API_KEYS',
        'JWT_SECRET',
        'TWILIO_ACCOUNT_SID',
        'TWILIO_AUTH_TOKEN',
        'DATA_ENCRYPTION_KEYS',
        'DATA_HASH_KEY',
      ].sort(),
    );
  });

  it('refuses the development data key among others in production, and a key that is not 32 bytes', () => {
    const devKey = 'dev:ZGV2LWRhdGEta2V5LW5vdC1mb3ItcHJvZHVjdGlvbiE=';
    expect(problemsOf({ ...REAL, DATA_ENCRYPTION_KEYS: `${REAL.DATA_ENCRYPTION_KEYS},${devKey}` })).toEqual([
      'DATA_ENCRYPTION_KEYS: the development default may not be used when NODE_ENV=production',
    ]);
    expect(problemsOf({ ...REAL, DATA_ENCRYPTION_KEYS: 'k1:c2hvcnQ=' })).toEqual([
      'DATA_ENCRYPTION_KEYS: key k1 must be 32 bytes in base64 (openssl rand -base64 32)',
    ]);
  });

  it('treats a missing NODE_ENV as production, and says so', () => {
    const problems = problemsOf({});
    expect(problems).toContain('JWT_SECRET: the development default may not be used when NODE_ENV=production');
    expect(problems.join('\n')).toMatch(/NODE_ENV: not set, which means production; .*NODE_ENV=development/);
    const { NODE_ENV: _env, ...withoutEnv } = REAL;
    expect(loadConfig(withoutEnv).NODE_ENV).toBe('production');
  });

  it.each([
    ['JWT_SECRET', 'short-secret-8'],
    ['ADMIN_TOKEN', 'admin-token-123'],
    ['INGEST_API_KEYS', `${REAL.INGEST_API_KEYS},partner-2`],
    ['TWILIO_AUTH_TOKEN', 'twilio-token-123'],
    ['JWT_SECRET', 'ab'.repeat(20)],
  ])('refuses a weak %s in production (%s), naming the variable', (name, value) => {
    const problems = problemsOf({ ...REAL, [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name}: must (be at least 32 characters|not repeat a few characters)`));
    // The same value is fine in development, where nothing real is at stake.
    expect(() => loadConfig({ ...REAL, NODE_ENV: 'development', [name]: value })).not.toThrow();
  });

  it.each([
    ['the default (the local sandbox)', undefined],
    ['the sandbox on loopback', 'https://127.0.0.1:3100'],
    ['localhost', 'https://localhost:3100'],
    ['IPv6 loopback', 'https://[::1]:3100'],
    ['plain http (the compose sandbox)', 'http://sandbox:3100'],
  ])('refuses a sandbox as the Twilio API in production: %s', (_name, url) => {
    const env: Record<string, string> = { ...REAL };
    if (url === undefined) delete env.TWILIO_API_BASE_URL;
    else env.TWILIO_API_BASE_URL = url;
    expect(problemsOf(env)).toEqual([
      expect.stringMatching(
        /^TWILIO_API_BASE_URL: must be an https:\/\/ address that is not this machine in production/,
      ),
    ]);
  });

  it('accepts production with real secrets and the real Twilio API', () => {
    const config = loadConfig(REAL);
    expect(config.NODE_ENV).toBe('production');
    expect(
      loadConfig({ ...REAL, TWILIO_API_BASE_URL: 'https://api.dublin.ie1.twilio.com' }).TWILIO_API_BASE_URL,
    ).toMatch(/^https:/);
  });

  it('has rate limits and a socket cap that do not throttle the ingest benchmark', () => {
    const config = loadConfig(DEV);
    expect(config.RATE_LIMIT_EVENTS).toBeGreaterThanOrEqual(3_000 * 60 * 2);
    expect(config.RATE_LIMIT_WINDOW_MS).toBe(60_000);
    expect(config.SOCKETS_PER_USER).toBe(10);
  });

  it('trusts no proxy by default, and only the addresses and ranges TRUST_PROXY names', () => {
    expect(loadConfig(DEV).TRUST_PROXY).toBe(false);
    expect(loadConfig({ ...DEV, TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,fd00::/8, ::1,uniquelocal' }).TRUST_PROXY).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      'fd00::/8',
      '::1',
      'uniquelocal',
    ]);
    for (const bad of ['true', '1', '10.0.0.0/33', 'lb.internal', '127.0.0.1,10.0.0.0/8/8'])
      expect(problemsOf({ ...DEV, TRUST_PROXY: bad }), bad).toEqual([
        expect.stringMatching(/^TRUST_PROXY: ".+" is not an IP address or a CIDR range/),
      ]);
  });
});
