import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../config.js';
import { refusing } from './route-schemas.js';
import { signUserToken, userIdProblem } from './jwt.js';

export interface AuthRoutesOptions {
  jwtSecret: string;
  nodeEnv: Config['NODE_ENV'];
}

/** `{ userId }`: a usable id (see userIdProblem) once trimmed; anything else is a 400 naming the field. */
const loginBody = refusing(
  // Whatever else arrives (an array, a string) is a body without a userId, and the answer names the field to send.
  z.preprocess(
    (body) => (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}),
    z.object({
      userId: z
        .string({ error: 'must be a string' })
        .trim()
        .superRefine((userId, ctx) => {
          const problem = userIdProblem(userId);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
    }),
  ),
  { message: 'the body must be {"userId": "<id>"}' },
);

/**
 * `POST /auth/dev-login {"userId"}` → `{ token, userId }`: anyone may become anyone, which is what a demo and the
 * tests need and exactly what production must never offer, so there the route is not registered at all (404).
 */
export async function authRoutes(app: FastifyInstance, options: AuthRoutesOptions): Promise<void> {
  if (options.nodeEnv === 'production') return;

  app
    .withTypeProvider<ZodTypeProvider>()
    .post('/auth/dev-login', { schema: { body: loginBody } }, async (request, reply) => {
      const { userId } = request.body;
      const token = await signUserToken(options.jwtSecret, userId);
      return reply.header('cache-control', 'no-store').send({ token, userId });
    });
}
