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
/**
 * How long an eventId a sender chose stays bound to that sender and body. The consumers deduplicate by eventId for
 * ever; this covers the span in which a reuse is plausible (retries, replays of the same feed), at one small key each.
 */
const EVENT_ID_TTL_SECONDS = 30 * 24 * 60 * 60;

/**
 * Whether a sender may publish under the eventId its body carries; `unchecked` when Redis could not say who owns it.
 */
export type EventIdClaim = { kind: 'ok' } | { kind: 'conflict'; reason: string } | { kind: 'unchecked' };
/** A reservation whose process died before settling frees itself this soon (longer than any publish confirm). */
const PENDING_TTL_SECONDS = 30;

/** Key order and white space do not make a different body. */
export const hashBody = (body: unknown) =>
  createHash('sha256')
    .update(stringify(body) ?? '')
    .digest('hex');

/**
 * Idempotency keys of `POST /events`, kept 24 h in Redis and scoped by API key. A failed publish keeps its eventId, so
 * a retry that reaches Kafka twice is still one event for the consumers (they deduplicate by eventId).
 */
export function createIdempotencyStore(redis: Redis, prefix = 'gateway:idempotency:') {
  const senderOf = (apiKey: string) => createHash('sha256').update(apiKey).digest('hex').slice(0, 16);
  const keyOf = (apiKey: string, key: string) => `${prefix}${senderOf(apiKey)}:${key}`;

  return {
    /**
     * The consumers take an eventId they have seen as already delivered, so an eventId given in the body is bound to
     * the first sender and body that used it: the same again is a retry (delivered once), anything else is a conflict
     * the sender must hear of rather than an event silently dropped. An eventId the gateway minted needs no check.
     * Should Redis be away, the claim is `unchecked` and the caller refuses the event: let through unbound, another
     * key's event under the same eventId would be taken for it, its deliveries reported to the wrong partner's status
     * webhook. Only events that bring their own eventId depend on Redis; a minted one is unique already.
     */
    async claimEventId(apiKey: string, body: unknown, eventId: string): Promise<EventIdClaim> {
      const given = typeof body === 'object' && body !== null ? (body as { eventId?: unknown }).eventId : undefined;
      if (typeof given !== 'string' || given.trim() === '') return { kind: 'ok' };
      const owner = `${senderOf(apiKey)}:${hashBody(body)}`;
      const redisKey = `${prefix}event:${eventId.toLowerCase()}`;
      try {
        const previous = await redis.set(redisKey, owner, 'EX', EVENT_ID_TTL_SECONDS, 'NX', 'GET');
        if (previous === null || previous === owner) return { kind: 'ok' };
        const reason = previous.startsWith(`${senderOf(apiKey)}:`)
          ? `eventId ${eventId} was already used for a different event; give each event its own eventId`
          : `eventId ${eventId} was already used by another sender; give each event its own eventId, or leave it out`;
        return { kind: 'conflict', reason };
      } catch {
        return { kind: 'unchecked' };
      }
    },

    async reserve(apiKey: string, key: string, bodyHash: string, eventId: string): Promise<Reservation> {
      const redisKey = keyOf(apiKey, key);
      const fresh: Record = { bodyHash, eventId, state: 'pending' };
      if ((await redis.set(redisKey, JSON.stringify(fresh), 'EX', PENDING_TTL_SECONDS, 'NX')) === 'OK')
        return { kind: 'new', eventId };
      const existing = JSON.parse((await redis.get(redisKey)) ?? 'null') as Record | null;
      if (!existing) return this.reserve(apiKey, key, bodyHash, eventId); // expired between SET and GET
      if (existing.bodyHash !== bodyHash)
        return { kind: 'conflict', reason: 'this Idempotency-Key was used with a different body' };
      if (existing.state === 'accepted') return { kind: 'replay', eventId: existing.eventId };
      if (existing.state === 'pending')
        return { kind: 'conflict', reason: 'a request with this Idempotency-Key is still in progress' };
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
