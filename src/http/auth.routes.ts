import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { badRequest } from './errors.js';
import { signUserToken, userIdProblem } from './jwt.js';

export interface AuthRoutesOptions {
  jwtSecret: string;
  nodeEnv: Config['NODE_ENV'];
}

/** Reads `{ userId }`: a usable id (see userIdProblem) once trimmed; anything else is a 400 naming the field. */
function parseUserId(body: unknown): string {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).userId : undefined;
  const userId = typeof value === 'string' ? value.trim() : undefined;
  const problem = userId === undefined ? 'must be a string' : userIdProblem(userId);
  if (problem === undefined) return userId!;
  throw badRequest('the body must be {"userId": "<id>"}', { path: 'userId', message: problem });
}

/**
 * `POST /auth/dev-login {"userId"}` → `{ token, userId }`: anyone may become anyone, which is what a demo and the
 * tests need and exactly what production must never offer, so there the route is not registered at all (404).
 */
export async function authRoutes(app: FastifyInstance, options: AuthRoutesOptions): Promise<void> {
  if (options.nodeEnv === 'production') return;

  app.post('/auth/dev-login', async (request, reply) => {
    const userId = parseUserId(request.body);
    const token = await signUserToken(options.jwtSecret, userId);
    return reply.header('cache-control', 'no-store').send({ token, userId });
  });
}
