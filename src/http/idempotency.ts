import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { stringify } from 'safe-stable-stringify';

/** What a partner's Idempotency-Key is bound to: the body it came with and the eventId it was given. */
interface Record {
  bodyHash: string;
  eventId: string;
  state: 'pending' | 'accepted' | 'failed';
}

export type Reservation =
  | { kind: 'new'; eventId: string }
  /** Same key, same body, already accepted: answer with the same eventId and publish nothing. */
  | { kind: 'replay'; eventId: string }
  /** Same key, same body, an earlier attempt failed: publish again under the same eventId. */
  | { kind: 'retry'; eventId: string }
  | { kind: 'conflict'; reason: string };

const TTL_SECONDS = 24 * 60 * 60;
/** A reservation whose process died before settling frees itself this soon (longer than any publish confirm). */
const PENDING_TTL_SECONDS = 30;

/** Key order and white space do not make a different body. */
export const hashBody = (body: unknown) => createHash('sha256').update(stringify(body) ?? '').digest('hex');

/**
 * Idempotency keys of `POST /events`, kept 24 h in Redis and scoped by API key. A failed publish keeps its eventId, so
 * a retry that reaches Kafka twice is still one event for the consumers (they deduplicate by eventId).
 */
export function createIdempotencyStore(redis: Redis, prefix = 'gateway:idempotency:') {
  const keyOf = (apiKey: string, key: string) =>
    `${prefix}${createHash('sha256').update(apiKey).digest('hex').slice(0, 16)}:${key}`;

  return {
    async reserve(apiKey: string, key: string, bodyHash: string, eventId: string): Promise<Reservation> {
      const redisKey = keyOf(apiKey, key);
      const fresh: Record = { bodyHash, eventId, state: 'pending' };
      if ((await redis.set(redisKey, JSON.stringify(fresh), 'EX', PENDING_TTL_SECONDS, 'NX')) === 'OK') return { kind: 'new', eventId };
      const existing = JSON.parse((await redis.get(redisKey)) ?? 'null') as Record | null;
      if (!existing) return this.reserve(apiKey, key, bodyHash, eventId); // expired between SET and GET
      if (existing.bodyHash !== bodyHash) return { kind: 'conflict', reason: 'this Idempotency-Key was used with a different body' };
      if (existing.state === 'accepted') return { kind: 'replay', eventId: existing.eventId };
      if (existing.state === 'pending') return { kind: 'conflict', reason: 'a request with this Idempotency-Key is still in progress' };
      await redis.set(redisKey, JSON.stringify({ ...existing, state: 'pending' }), 'EX', PENDING_TTL_SECONDS);
      return { kind: 'retry', eventId: existing.eventId };
    },
    async settle(apiKey: string, key: string, state: 'accepted' | 'failed'): Promise<void> {
      const redisKey = keyOf(apiKey, key);
      const existing = JSON.parse((await redis.get(redisKey)) ?? 'null') as Record | null;
      // Settled keys, failed ones included, keep their eventId for 24 h: a retry reuses it.
      if (existing) await redis.set(redisKey, JSON.stringify({ ...existing, state }), 'EX', TTL_SECONDS);
    },
  };
}

export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>;
