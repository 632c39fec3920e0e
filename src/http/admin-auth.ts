import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { bearerToken } from './bearer.js';
import { forbidden, unauthorized } from './errors.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Admin routes take `Authorization: Bearer <ADMIN_TOKEN>`: none → 401, any other token → 403. Tokens are compared as
 * digests of equal length, so the time taken says nothing about how much of a guess was right.
 */
export function adminGuard(adminToken: string) {
  const expected = digest(adminToken);
  return async (request: FastifyRequest): Promise<void> => {
    const token = bearerToken(request.headers.authorization);
    if (!token) {
      throw unauthorized(
        'missing Authorization: Bearer token',
        { path: 'authorization', message: 'required' },
        { challenge: 'Bearer' },
      );
    }
    if (!timingSafeEqual(digest(token), expected)) {
      throw forbidden('this token may not use the admin API', {
        path: 'authorization',
        message: 'not the admin token',
      });
    }
  };
}
