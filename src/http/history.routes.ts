import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CHANNELS } from '../events/index.js';
import type { DeliveryHistoryRepository } from '../store/delivery-history.repository.js';
import { notFound } from './errors.js';
import { adminGuard, type UserGuard } from './guards.js';
import { cursorParam, intString, oneOf } from './paging.schemas.js';
import { adminRateLimit } from './rate-limits.js';
import { invalidQueryParameter, refusing, strict, userParams } from './route-schemas.js';

export interface HistoryRoutesOptions {
  history: DeliveryHistoryRepository;
  authorize: UserGuard;
  adminToken: string;
  /** Admin requests per minute per client address, shared with the other admin routes. */
  adminRateLimit: number;
}

export const HISTORY_PAGE_SIZE = 20;
export const MAX_HISTORY_PAGE_SIZE = 100;

const historyQuery = refusing(
  strict(
    {
      limit: intString(1, MAX_HISTORY_PAGE_SIZE).default(HISTORY_PAGE_SIZE),
      cursor: cursorParam.optional(),
      channel: oneOf(CHANNELS).optional(),
    },
    'unknown parameter',
  ),
  { message: invalidQueryParameter },
);

/** An event's deliveries come a page at a time: a disruption to 5,000 travellers has about 20,000. */
export const EVENT_PAGE_SIZE = 100;
export const MAX_EVENT_PAGE_SIZE = 500;

const eventQuery = refusing(
  strict(
    {
      limit: intString(1, MAX_EVENT_PAGE_SIZE).default(EVENT_PAGE_SIZE),
      cursor: cursorParam.optional(),
    },
    'unknown parameter',
  ),
  { message: invalidQueryParameter },
);

const eventParams = z.object({
  eventId: z.uuid({ error: 'must be an event id (a uuid)' }).describe('the eventId POST /events answered with'),
});

/**
 * The activity log. `GET /users/:userId/deliveries`: a person's own deliveries, newest first, by cursor (the user
 * guard lets no one read another's). `GET /admin/events/:eventId`: what happened to one event, every delivery to
 * everyone on every channel, with each attempt and its error code, newest first, by cursor as well.
 */
export async function historyRoutes(app: FastifyInstance, options: HistoryRoutesOptions): Promise<void> {
  const { history, authorize } = options;
  app.withTypeProvider<ZodTypeProvider>().get('/users/:userId/deliveries', {
    schema: { params: userParams, querystring: historyQuery },
    onRequest: authorize,
    handler: async (request, reply) => {
      const { limit, cursor, channel } = request.query;
      const page = await history.forUser(request.params.userId, { limit, before: cursor, channel });
      return reply.header('cache-control', 'no-store').send(page);
    },
  });

  await app.register(async (admin) => {
    // As on the dead-letter routes: counted before the token is checked, so guessing it is limited too.
    admin.addHook('onRequest', admin.rateLimit(adminRateLimit(options.adminRateLimit)));
    admin.addHook('onRequest', adminGuard(options.adminToken));
    admin.withTypeProvider<ZodTypeProvider>().get(
      '/admin/events/:eventId',
      {
        schema: {
          params: refusing(eventParams, { message: 'invalid event id' }),
          querystring: eventQuery,
        },
      },
      async (request, reply) => {
        const { eventId } = request.params;
        const { limit, cursor } = request.query;
        const page = await history.forEvent(eventId, { limit, before: cursor });
        // Only the first page says "none": past the last one, a page is merely empty.
        if (page.items.length === 0 && cursor === undefined)
          throw notFound(`no delivery of event ${eventId} was made`, { path: 'eventId', message: 'no deliveries' });
        return reply
          .header('cache-control', 'no-store')
          .send({ eventId, deliveries: page.items, nextCursor: page.nextCursor });
      },
    );
  });
}
