import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DISRUPTION_TYPES, EVENT_TYPES, futureTimestampIssue, parseEvent, type GatewayEvent } from '../events/index.js';
import { eventJsonSchemas } from '../events/json-schema.js';
import type { GatewayMetrics } from '../metrics.js';
import { QueueUnavailableError, type EventQueuePublisher } from '../queue/event-queue.publisher.js';
import type { EventSources } from '../webhooks/event-sources.js';
import { conflict, invalidEvent, unavailable } from './errors.js';
import { apiKeyGuard } from './guards.js';
import { hashBody, type IdempotencyStore } from './idempotency.js';
import { refusing } from './route-schemas.js';

export interface EventsRouteDeps {
  apiKeys: readonly string[];
  eventQueue: EventQueuePublisher;
  idempotency: IdempotencyStore;
  /** Counts what RabbitMQ confirmed, by event type. */
  accepted: GatewayMetrics['eventsAccepted'];
  /** Notes which key sent the event, for the keys with a status webhook. */
  sources: EventSources;
  /** How far ahead of the gateway's clock an eventTimestamp may be (EVENT_CLOCK_SKEW_SECONDS). */
  clockSkewSeconds: number;
}

const ingestHeaders = refusing(
  z.looseObject({
    'idempotency-key': z
      .string({ error: 'must be 1 to 255 visible ASCII characters' })
      .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1 to 255 visible ASCII characters')
      .optional()
      .describe('makes a retry of this request safe: the same key and body are accepted once, with one eventId'),
  }),
  { message: 'invalid Idempotency-Key header' },
);

/** The partners' short form, as the document describes it: `type` names the event or the disruption (see parseEvent). */
const SHORT_FORM = {
  title: 'short form',
  type: 'object',
  required: ['type'],
  properties: { type: { enum: [...EVENT_TYPES, ...DISRUPTION_TYPES] } },
};

/**
 * One event, in the canonical envelope or the partners' short form (see parseEvent), checked by the event schemas.
 * The handler gets both what was sent (the idempotency keys bind to it) and the event it was read into.
 */
const eventBody = refusing(
  z
    .unknown()
    .transform((input, ctx): { sent: unknown; event: GatewayEvent } => {
      const result = parseEvent(input);
      if (result.ok) return { sent: input, event: result.event };
      for (const { path, message } of result.issues)
        ctx.addIssue({ code: 'custom', message, path: path ? path.split('.') : [] });
      return z.NEVER;
    })
    .meta({
      description: 'one event: the canonical envelope of its type, or the short form',
      anyOf: [...Object.values(eventJsonSchemas()), SHORT_FORM],
    }),
  { message: 'the event does not match its schema', code: 'invalid_event' },
);
/** How long a sender should wait before retrying when RabbitMQ is away; reconnects are tried every second. */
const RETRY_AFTER_SECONDS = 5;

const away = (message: string) => unavailable(message, { retryAfterS: RETRY_AFTER_SECONDS });
const EVENT_ID_UNCHECKED =
  'the eventId could not be checked against the other senders (the idempotency store is unavailable); nothing was ' +
  'accepted: retry later, or leave eventId out to have one made';

/**
 * `POST /events`: the partners' door. Answers 202 only once RabbitMQ has confirmed the persistent message, so an
 * accepted event survives any crash after the answer; never 202 otherwise.
 */
export async function eventsRoutes(app: FastifyInstance, deps: EventsRouteDeps): Promise<void> {
  const authenticate = apiKeyGuard(deps.apiKeys);

  /** Binds the key to this body; a retry of a failed attempt gets the eventId it was first given. */
  async function reserve(request: FastifyRequest, key: string, sent: unknown, eventId: string) {
    const reservation = await deps.idempotency
      .reserve(request.apiKey!, key, hashBody(sent), eventId)
      .catch((error: unknown) => {
        request.log.warn({ err: error }, 'idempotency store unavailable');
        throw away('the idempotency store is unavailable; nothing was accepted, retry later');
      });
    if (reservation.kind === 'conflict') {
      throw conflict(reservation.reason, { path: 'idempotency-key', message: reservation.reason });
    }
    return reservation;
  }

  app.withTypeProvider<ZodTypeProvider>().post('/events', {
    schema: { headers: ingestHeaders, body: eventBody },
    // Before the body is read: a caller without a key learns nothing about the payload rules.
    onRequest: authenticate,
    handler: async (request, reply) => {
      const idempotencyKey = request.headers['idempotency-key'];
      const { sent } = request.body;
      let { event } = request.body;
      // Before anything is claimed: a refused event leaves no trace, and may be sent again with a sane clock.
      const ahead = futureTimestampIssue(event, deps.clockSkewSeconds * 1000);
      if (ahead) throw invalidEvent(`eventTimestamp ${ahead.message}`, ahead);
      const eventIdClaim = await deps.idempotency.claimEventId(request.apiKey!, sent, event.eventId);
      if (eventIdClaim.kind === 'conflict')
        throw conflict(eventIdClaim.reason, { path: 'eventId', message: eventIdClaim.reason });
      if (eventIdClaim.kind === 'unchecked') {
        request.log.warn('event not accepted: the owner of its eventId could not be checked');
        throw away(EVENT_ID_UNCHECKED);
      }

      if (idempotencyKey) {
        const reservation = await reserve(request, idempotencyKey, sent, event.eventId);
        if (reservation.kind === 'replay')
          return reply.code(202).header('idempotent-replayed', 'true').send({ eventId: reservation.eventId });
        event = { ...event, eventId: reservation.eventId };
      }

      try {
        // Before RabbitMQ has the event: once it has, a delivery may change status before a later note is written.
        await deps.sources.record(event, request.apiKey!).catch((cause: unknown) => {
          request.log.warn({ err: cause }, 'event not accepted: its source could not be noted');
          throw away('the status webhooks store is unavailable; nothing was accepted, retry later');
        });
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
      deps.accepted.inc({ eventType: event.eventType });
      return reply.code(202).send({ eventId: event.eventId });
    },
  });
}
