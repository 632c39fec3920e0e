import type { Redis } from 'ioredis';
import type { BreakerState } from './breaker.js';

const KEY = 'gateway:breakers';

/**
 * Breakers live in the workers; health and metrics are served by the api. Workers write each change to a Redis hash
 * that the api reads, so /readyz and /metrics show the breakers whichever process holds them.
 */
export function createBreakerStateStore(redis: Redis, keyPrefix = '') {
  const key = `${keyPrefix}${KEY}`;
  return {
    write: (provider: string, state: BreakerState) => redis.hset(key, provider, state).then(() => undefined),
    read: async (): Promise<Record<string, BreakerState>> => (await redis.hgetall(key)) as Record<string, BreakerState>,
  };
}
