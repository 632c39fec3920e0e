import type { FastifyInstance } from 'fastify';
import { userRoom } from '../channels/alert-contract.js';
import type { createErasure } from '../store/erasure.js';
import type { userGuard } from './user-auth.js';

/**
 * `DELETE /users/:userId`: the right to erasure, for the user themself or an admin. Answers 202 with what was deleted
 * or masked; from then on the user is never a recipient again, and their open sockets are closed. Erasing twice is
 * harmless (the second finds little or nothing).
 */
export async function erasureRoutes(
  app: FastifyInstance,
  { erasure, authorize }: { erasure: ReturnType<typeof createErasure>; authorize: ReturnType<typeof userGuard> },
): Promise<void> {
  app.delete<{ Params: { userId: string } }>('/users/:userId', async (request, reply) => {
    const { userId } = request.params;
    await authorize(request, userId);
    const counts = await erasure.erase(userId);
    app.io.in(userRoom(userId)).disconnectSockets(true);
    request.log.info({ userId, counts }, 'user erased');
    return reply.code(202).send({ userId, erased: true, counts });
  });
}
