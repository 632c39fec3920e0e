import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { bearerToken } from './bearer.js';
import { badRequest, forbidden, unauthorized } from './errors.js';
import { AuthError, userIdProblem, verifyUserToken } from './jwt.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Routes about one user accept that user's own JWT or the admin token (`Authorization: Bearer …`): none → 401,
 * a valid token for someone else → 403.
 */
export function userGuard({ jwtSecret, adminToken }: { jwtSecret: string; adminToken: string }) {
  const admin = digest(adminToken);
  return async (request: FastifyRequest, userId: string): Promise<{ admin: boolean }> => {
    // Checked first: an id no token can hold (NUL, too long) is a bad request, whoever asks.
    const idProblem = userIdProblem(userId);
    if (idProblem) throw badRequest('invalid userId in the path', { path: 'userId', message: idProblem });
    const token = bearerToken(request.headers.authorization);
    if (!token)
      throw unauthorized('missing Authorization: Bearer token', { path: 'authorization', message: 'required' });
    if (timingSafeEqual(digest(token), admin)) return { admin: true };
    let subject: string;
    try {
      subject = (await verifyUserToken(jwtSecret, token)).userId;
    } catch (error) {
      const reason = error instanceof AuthError && error.code === 'TOKEN_EXPIRED' ? 'token expired' : 'token invalid';
      throw unauthorized(reason, { path: 'authorization', message: reason });
    }
    if (subject !== userId)
      throw forbidden('this token belongs to another user', { path: 'userId', message: 'not yours' });
    return { admin: false };
  };
}
