import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { userRoom } from '../channels/alert-contract.js';
import type { createErasure } from '../store/erasure.js';
import type { UserGuard } from './guards.js';
import { userParams } from './route-schemas.js';

/**
 * `DELETE /users/:userId`: the right to erasure, for the user themself or an admin. Answers 202 with what was deleted
 * or masked; from then on the user is never a recipient again, and their open sockets are closed. Erasing twice is
 * harmless (the second finds little or nothing).
 */
export async function erasureRoutes(
  app: FastifyInstance,
  { erasure, authorize }: { erasure: ReturnType<typeof createErasure>; authorize: UserGuard },
): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().delete('/users/:userId', {
    schema: { params: userParams },
    onRequest: authorize,
    handler: async (request, reply) => {
      const { userId } = request.params;
      const counts = await erasure.erase(userId);
      app.io.in(userRoom(userId)).disconnectSockets(true);
      request.log.info({ userId, counts }, 'user erased');
      return reply.code(202).send({ userId, erased: true, counts });
    },
  });
}
