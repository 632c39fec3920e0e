import { Emitter } from '@socket.io/redis-emitter';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { createBatchLoader } from '../db/batch-loader.js';
import type { Logger } from '../logger.js';
import { DeliveryError, type ChannelAdapter, type OutboundMessage, type SendResult } from './channel.js';

/** The Socket.IO event every alert travels as, live or replayed from the inbox. */
export const ALERT_EVENT = 'alert';

/** The only room a socket is ever in (besides its own id): one per user, named from the token's `sub`. */
export const userRoom = (userId: string): string => `user:${userId}`;

/** One row of the `inbox` table, as pg returns it (bigint ids come back as strings). */
export interface InboxRow {
  id: string | number;
  event_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  created_at: Date;
}

/** What a browser receives: the rendered payload (title, body, severity …) plus where it sits in the inbox. */
export type Alert = Record<string, unknown> & { id: number; eventId: string; eventType: string; createdAt: string };

/** The one shape of an alert, live or replayed; the inbox fields win over any same-named payload field. */
export function toAlert(row: InboxRow): Alert {
  return {
    ...row.payload,
    id: Number(row.id),
    eventId: row.event_id,
    eventType: row.event_type,
    createdAt: row.created_at.toISOString(),
  };
}

// A redelivery meets the existing row; the no-op update makes RETURNING give it back, so it keeps its id.
const INSERT_INBOX = `
  INSERT INTO inbox (user_id, event_id, event_type, payload)
  SELECT u, e, t, p::jsonb FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[]) AS v(u, e, t, p) ORDER BY u, e
  ON CONFLICT (user_id, event_id) DO UPDATE SET user_id = EXCLUDED.user_id
  RETURNING id, user_id, event_id, event_type, payload, created_at`;

interface InboxEntry {
  userId: string;
  eventId: string;
  eventType: string;
  payload: string;
}

/** The inbox rows of the alerts in flight together, in one statement (createBatchLoader gathers them). */
async function insertInbox(pool: pg.Pool, entries: readonly InboxEntry[]): Promise<InboxRow[]> {
  // PostgreSQL gives a uuid back in lower case, whatever case it was sent in.
  const id = (userId: string, eventId: string) => `${userId} ${eventId.toLowerCase()}`;
  // One statement may not touch a row twice: an alert asked for twice at once is inserted once and given to both.
  const unique = [...new Map(entries.map((e) => [id(e.userId, e.eventId), e])).values()];
  const { rows } = await pool.query<InboxRow & { user_id: string }>(INSERT_INBOX, [
    unique.map((e) => e.userId),
    unique.map((e) => e.eventId),
    unique.map((e) => e.eventType),
    unique.map((e) => e.payload),
  ]);
  const byId = new Map(rows.map((row) => [id(row.user_id, row.event_id), row]));
  return entries.map((e) => byId.get(id(e.userId, e.eventId))!);
}

export interface WebsocketChannelDeps {
  pool: pg.Pool;
  redis: Redis;
  logger: Logger;
}

/**
 * The websocket channel: the inbox row in PostgreSQL is the delivery (a browser that was away replays it on
 * reconnect); the Redis emitter then pushes it live to `user:<id>` on whichever api node holds the user's sockets.
 */
export function createWebsocketChannel({ pool, redis, logger }: WebsocketChannelDeps): ChannelAdapter {
  const insert = createBatchLoader((entries: readonly InboxEntry[]) => insertInbox(pool, entries));
  // Fail a publish after one reconnect attempt instead of twenty: the consumer's retry topics do the waiting.
  const client = redis.duplicate({ maxRetriesPerRequest: 1 });
  client.on('error', (error) => logger.warn({ err: error }, 'websocket channel: redis error'));

  // The emitter fires publish() and drops its promise; this keeps it so a failed publish fails the send.
  let lastPublish: Promise<unknown> = Promise.resolve();
  const emitter = new Emitter({
    publish: (channel: string, message: Buffer | string) => (lastPublish = client.publish(channel, message)),
  });

  return {
    channel: 'websocket',

    async send(message: OutboundMessage): Promise<SendResult> {
      const payload = message.payload ?? { title: message.subject, body: message.text };
      const row = await insert({
        userId: message.userId,
        eventId: message.eventId,
        eventType: message.eventType,
        payload: JSON.stringify(payload),
      }).catch((error: unknown) => {
        throw classify(error, 'inbox insert failed');
      });

      emitter.to(userRoom(message.userId)).emit(ALERT_EVENT, toAlert(row));
      // A failed publish is retried as a whole: the insert then returns the same row, and the browser drops a
      // duplicate by id, so retrying cannot create a second alert.
      await lastPublish.catch((error: unknown) => {
        throw new DeliveryError(`alert publish failed: ${errorMessage(error)}`, 'STORE_UNAVAILABLE', true, {
          cause: error,
        });
      });
      logger.debug({ inboxId: row.id, eventId: message.eventId }, 'websocket alert delivered');
      return { providerId: `inbox:${row.id}`, status: 'delivered' };
    },

    async close() {
      client.disconnect();
    },
  };
}

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * SQLSTATE classes 22 (data exception: an eventId that is not a uuid, a payload that is not JSON) and 23 (a NULL
 * where one is not allowed) fail again on every retry; everything else (refused connection, terminated connection,
 * pool timeout, server shutting down) may well succeed later.
 */
function classify(error: unknown, what: string): DeliveryError {
  const sqlState = (error as { code?: unknown } | null)?.code;
  if (typeof sqlState === 'string' && /^2[23][0-9A-Z]{3}$/.test(sqlState)) {
    return new DeliveryError(`${what}: ${errorMessage(error)}`, 'INVALID_MESSAGE', false, { cause: error });
  }
  return new DeliveryError(`${what}: ${errorMessage(error)}`, 'STORE_UNAVAILABLE', true, { cause: error });
}
