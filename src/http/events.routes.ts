import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseEvent } from '../events/index.js';
import { eventsAccepted } from '../metrics.js';
import { QueueUnavailableError, type EventQueuePublisher } from '../queue/event-queue.publisher.js';
import { apiKeyGuard } from './api-key.js';
import { badRequest, conflict, invalidEvent, unavailable } from './errors.js';
import { hashBody, type IdempotencyStore } from './idempotency.js';

export interface EventsRouteDeps {
  apiKeys: readonly string[];
  eventQueue: EventQueuePublisher;
  idempotency: IdempotencyStore;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** How long a sender should wait before retrying when RabbitMQ is away; reconnects are tried every second. */
const RETRY_AFTER_SECONDS = 5;

const away = (message: string) => unavailable(message, { retryAfterS: RETRY_AFTER_SECONDS });

/**
 * `POST /events`: the partners' door. Answers 202 only once RabbitMQ has confirmed the persistent message, so an
 * accepted event survives any crash after the answer; never 202 otherwise.
 */
export async function eventsRoutes(app: FastifyInstance, deps: EventsRouteDeps): Promise<void> {
  const authenticate = apiKeyGuard(deps.apiKeys);

  /** Binds the key to this body; a retry of a failed attempt gets the eventId it was first given. */
  async function reserve(request: FastifyRequest, key: string, eventId: string) {
    const reservation = await deps.idempotency
      .reserve(request.apiKey!, key, hashBody(request.body), eventId)
      .catch((error: unknown) => {
        request.log.warn({ err: error }, 'idempotency store unavailable');
        throw away('the idempotency store is unavailable; nothing was accepted, retry later');
      });
    if (reservation.kind === 'conflict') {
      throw conflict(reservation.reason, { path: 'idempotency-key', message: reservation.reason });
    }
    return reservation;
  }

  app.post('/events', {
    // Before the body is read: a caller without a key learns nothing about the payload rules.
    onRequest: async (request) => {
      request.apiKey = authenticate(request);
    },
    handler: async (request, reply) => {
      const idempotencyKey = request.headers['idempotency-key'];
      if (
        idempotencyKey !== undefined &&
        (typeof idempotencyKey !== 'string' || !IDEMPOTENCY_KEY.test(idempotencyKey))
      ) {
        throw badRequest('invalid Idempotency-Key header', {
          path: 'idempotency-key',
          message: 'must be 1 to 255 visible ASCII characters',
        });
      }
      const result = parseEvent(request.body);
      if (!result.ok) throw invalidEvent('the event does not match its schema', result.issues);
      let event = result.event;
      const eventIdClaim = await deps.idempotency.claimEventId(request.apiKey!, request.body, event.eventId);
      if (eventIdClaim.kind === 'conflict')
        throw conflict(eventIdClaim.reason, { path: 'eventId', message: eventIdClaim.reason });

      if (idempotencyKey) {
        const reservation = await reserve(request, idempotencyKey, event.eventId);
        if (reservation.kind === 'replay')
          return reply.code(202).header('idempotent-replayed', 'true').send({ eventId: reservation.eventId });
        event = { ...event, eventId: reservation.eventId };
      }

      try {
        await deps.eventQueue.publish(event);
      } catch (error) {
        if (idempotencyKey) await deps.idempotency.settle(request.apiKey!, idempotencyKey, 'failed').catch(() => {});
        if (error instanceof QueueUnavailableError) {
          request.log.warn({ err: error }, 'event not accepted: queue unavailable');
          throw away('the event queue is unavailable; nothing was accepted, retry later');
        }
        throw error;
      }
      // The event is in RabbitMQ whatever happens now. Should Redis fail at this very point, the pending key expires
      // in 30 s and a later retry with it counts as new: the one case where a key does not deduplicate.
      if (idempotencyKey) await deps.idempotency.settle(request.apiKey!, idempotencyKey, 'accepted').catch(() => {});
      eventsAccepted.inc({ eventType: event.eventType });
      return reply.code(202).send({ eventId: event.eventId });
    },
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: string;
  }
}
