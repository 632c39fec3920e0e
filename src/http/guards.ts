import type { FastifyRequest } from 'fastify';
import { secretMatcher } from '../util/secrets.js';
import { bearerToken } from './bearer.js';
import { badRequest, forbidden, unauthorized } from './errors.js';
import { AuthError, userIdProblem, verifyUserToken } from './jwt.js';

/**
 * The three ways in, each an `onRequest` hook so it runs before the body is read or validated: a caller without
 * credentials learns nothing about the payload rules.
 */

/**
 * Partners: `x-api-key` must be one of the configured keys. Sets `request.apiKey`, which scopes the caller's
 * idempotency keys.
 */
export function apiKeyGuard(keys: readonly string[]) {
  const isKnown = secretMatcher(keys);
  return async (request: FastifyRequest): Promise<void> => {
    const presented = presentedApiKey(request);
    if (!presented) throw unauthorized('missing x-api-key header', { path: 'x-api-key', message: 'required' });
    if (!isKnown(presented)) throw unauthorized('invalid x-api-key', { path: 'x-api-key', message: 'not a known key' });
    request.apiKey = presented;
  };
}

/** The `x-api-key` a request carries (the first, if it came twice), checked or not. */
export function presentedApiKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  return Array.isArray(header) ? header[0] : header;
}

/** Operators: `Authorization: Bearer <ADMIN_TOKEN>`; none → 401, any other token → 403. */
export function adminGuard(adminToken: string) {
  const isAdmin = secretMatcher([adminToken]);
  return async (request: FastifyRequest): Promise<void> => {
    const token = bearerToken(request.headers.authorization);
    if (!token) {
      throw unauthorized(
        'missing Authorization: Bearer token',
        { path: 'authorization', message: 'required' },
        { challenge: 'Bearer' },
      );
    }
    if (!isAdmin(token)) {
      throw forbidden('this token may not use the admin API', {
        path: 'authorization',
        message: 'not the admin token',
      });
    }
  };
}

/**
 * Routes about one user (`/users/:userId/…`) accept that user's own JWT or the admin token: none → 401, a valid
 * token for someone else → 403.
 */
export function userGuard({ jwtSecret, adminToken }: { jwtSecret: string; adminToken: string }) {
  const isAdmin = secretMatcher([adminToken]);
  return async (request: FastifyRequest): Promise<void> => {
    const { userId } = request.params as { userId: string };
    // Checked first: an id no token can hold (NUL, too long) is a bad request, whoever asks.
    const idProblem = userIdProblem(userId);
    if (idProblem) throw badRequest('invalid userId in the path', { path: 'userId', message: idProblem });
    const token = bearerToken(request.headers.authorization);
    if (!token)
      throw unauthorized('missing Authorization: Bearer token', { path: 'authorization', message: 'required' });
    if (isAdmin(token)) return;
    let subject: string;
    try {
      subject = (await verifyUserToken(jwtSecret, token)).userId;
    } catch (error) {
      const reason = error instanceof AuthError && error.code === 'TOKEN_EXPIRED' ? 'token expired' : 'token invalid';
      throw unauthorized(reason, { path: 'authorization', message: reason });
    }
    if (subject !== userId)
      throw forbidden('this token belongs to another user', { path: 'userId', message: 'not yours' });
  };
}

export type UserGuard = ReturnType<typeof userGuard>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The partner's key, once `apiKeyGuard` has accepted it. */
    apiKey?: string;
  }
}
