import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { INBOX_EVENT, toAlert, userRoom, type InboxState } from '../channels/alert-contract.js';
import type { InboxRepository } from '../store/inbox.repository.js';
import { notFound } from './errors.js';
import type { UserGuard } from './guards.js';
import { cursorParam, intString } from './paging.schemas.js';
import { invalidQueryParameter, refusing, strict, userParams } from './route-schemas.js';

export const INBOX_PAGE_SIZE = 20;
export const MAX_INBOX_PAGE_SIZE = 100;

const inboxQuery = refusing(
  strict(
    { limit: intString(1, MAX_INBOX_PAGE_SIZE).default(INBOX_PAGE_SIZE), cursor: cursorParam.optional() },
    'unknown parameter',
  ),
  { message: invalidQueryParameter },
);

const alertParams = userParams.extend({
  id: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, 'must be an alert id')
    .transform(Number)
    .describe("the alert's id, as the socket and the inbox give it"),
});

/**
 * The web inbox's state: `GET /users/:userId/inbox` (the alerts, newest first, each read or not, and the unread
 * count), `GET …/inbox/unread`, and marking one alert or all of them read. A change is pushed to every socket of the
 * person (`inbox` event), on whichever api node it is, so their other tabs and devices show the same count.
 */
export async function inboxRoutes(
  app: FastifyInstance,
  { inbox, authorize }: { inbox: InboxRepository; authorize: UserGuard },
): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const push = (userId: string, state: InboxState) => app.io.to(userRoom(userId)).emit(INBOX_EVENT, state);

  routes.get('/users/:userId/inbox', {
    schema: { params: userParams, querystring: inboxQuery },
    onRequest: authorize,
    handler: async (request, reply) => {
      const { userId } = request.params;
      const [page, unread] = await Promise.all([
        inbox.page(userId, { limit: request.query.limit, before: request.query.cursor }),
        inbox.unreadCount(userId),
      ]);
      const items = page.items.map((row) => ({ ...toAlert(row), read: row.read_at !== null }));
      return reply.header('cache-control', 'no-store').send({ items, unread, nextCursor: page.nextCursor });
    },
  });

  routes.get('/users/:userId/inbox/unread', {
    schema: { params: userParams },
    onRequest: authorize,
    handler: async (request, reply) =>
      reply.header('cache-control', 'no-store').send({ unread: await inbox.unreadCount(request.params.userId) }),
  });

  routes.post('/users/:userId/inbox/:id/read', {
    schema: { params: refusing(alertParams, { message: 'invalid alert id' }) },
    onRequest: authorize,
    handler: async (request) => {
      const { userId, id } = request.params;
      if (!(await inbox.markRead(userId, id)))
        throw notFound(`no alert ${id} in this inbox`, { path: 'id', message: 'not found' });
      const unread = await inbox.unreadCount(userId);
      push(userId, { unread, read: [id] });
      return { id, read: true, unread };
    },
  });

  routes.post('/users/:userId/inbox/read', {
    schema: { params: userParams },
    onRequest: authorize,
    handler: async (request) => {
      const { userId } = request.params;
      const marked = await inbox.markAllRead(userId);
      const unread = await inbox.unreadCount(userId);
      push(userId, { unread, read: 'all' });
      return { marked, unread };
    },
  });
}
