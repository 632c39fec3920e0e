import { Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis client with deadlines: a command Redis does not answer in 2 s fails (callers fall back to PostgreSQL or
 * retry) rather than waiting for ever, and a connection attempt gives up after 5 s and tries again.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { commandTimeout: 2_000, connectTimeout: 5_000, maxRetriesPerRequest: 2, ...options });
}
