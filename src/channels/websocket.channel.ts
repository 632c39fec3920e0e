import { Emitter } from '@socket.io/redis-emitter';
import type { FieldCipher } from '../util/field-cipher.js';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Logger } from '../logger.js';
import { createInboxRepository } from '../store/inbox.repository.js';
import { ALERT_EVENT, toAlert, userRoom } from './alert-contract.js';
import {
  DeliveryError,
  SendWithdrawnError,
  type ChannelAdapter,
  type OutboundMessage,
  type SendResult,
} from './channel.js';

export interface WebsocketChannelDeps {
  pool: pg.Pool;
  redis: Redis;
  /** Seals the alerts the inbox keeps. */
  cipher: FieldCipher;
  logger: Logger;
}

/**
 * The websocket channel: the inbox row in PostgreSQL is the delivery (a browser that was away replays it on
 * reconnect); the Redis emitter then pushes it live to `user:<id>` on whichever api node holds the user's sockets.
 */
export function createWebsocketChannel({ pool, redis, cipher, logger }: WebsocketChannelDeps): ChannelAdapter {
  const inbox = createInboxRepository(pool, cipher);
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
      const row = await inbox
        .insert({
          userId: message.userId,
          eventId: message.eventId,
          eventType: message.eventType,
          payload: JSON.stringify(payload),
        })
        .catch((error: unknown) => {
          throw classify(error, 'inbox insert failed');
        });
      // Erased since the send was decided: the inbox keeps nothing of theirs, and nothing is pushed.
      if (!row) {
        throw new SendWithdrawnError({
          status: 'skipped',
          code: 'ERASED',
          message: 'recipient erased before delivery',
        });
      }

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
