import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { unauthorized } from './errors.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Checks `x-api-key` against the configured keys in constant time (comparing digests, so lengths leak nothing).
 * Returns the key, which scopes the caller's idempotency keys.
 */
export function apiKeyGuard(keys: readonly string[]) {
  const known = keys.map(digest);
  return (request: FastifyRequest): string => {
    const header = request.headers['x-api-key'];
    const presented = Array.isArray(header) ? header[0] : header;
    if (!presented) throw unauthorized('missing x-api-key header', { path: 'x-api-key', message: 'required' });
    const candidate = digest(presented);
    if (!known.some((key) => timingSafeEqual(key, candidate))) {
      throw unauthorized('invalid x-api-key', { path: 'x-api-key', message: 'not a known key' });
    }
    return presented;
  };
}
