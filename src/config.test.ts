import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('works on the local stack with no environment at all', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(config.INGEST_API_KEYS).toEqual(['dev-ingest-key']);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads lists and numbers from their string form', () => {
    const config = loadConfig({ KAFKA_BROKERS: 'a:9092, b:9092', PORT: '8080', INGEST_API_KEYS: 'k1,k2' });
    expect(config.KAFKA_BROKERS).toEqual(['a:9092', 'b:9092']);
    expect(config.PORT).toBe(8080);
    expect(config.INGEST_API_KEYS).toEqual(['k1', 'k2']);
  });

  it('lists every bad setting in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', TWILIO_ACCOUNT_SID: 'nope', LOG_LEVEL: 'loud' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'TWILIO_ACCOUNT_SID', 'LOG_LEVEL']) expect(problems).toContain(name);
    expect((error as Error).message).toContain('DATABASE_URL: must be a URL starting with postgres:// or postgresql://');
  });

  it('refuses the development secrets in production, naming each', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    const problems = (() => {
      try {
        loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'a-real-admin-token' });
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    })();
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(
      ['INGEST_API_KEYS', 'JWT_SECRET', 'TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN'].sort(),
    );
  });

  it('accepts production with real secrets', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      INGEST_API_KEYS: 'partner-key-1',
      ADMIN_TOKEN: 'admin-token-123',
      JWT_SECRET: 'jwt-secret-123',
      TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`,
      TWILIO_AUTH_TOKEN: 'twilio-token-123',
    });
    expect(config.NODE_ENV).toBe('production');
  });
});
