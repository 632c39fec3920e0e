import { createHash } from 'node:crypto';
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { tooManyRequests, type HttpError } from './errors.js';

type Limits = Pick<
  Config,
  'RATE_LIMIT_WINDOW_MS' | 'RATE_LIMIT_EVENTS' | 'RATE_LIMIT_USERS' | 'RATE_LIMIT_AUTH' | 'RATE_LIMIT_ADMIN'
>;

/** An API key is a secret: its counter is named by a digest, so the key never sits in Redis. */
const keyDigest = (key: string) => createHash('sha256').update(key).digest('base64url').slice(0, 22);

/**
 * Which limit a route falls under, by path; each route (method and path) counts on its own. POST /events counts per
 * API key (its guard has run by then, so only known keys get a counter); the others count per client address.
 */
function policyFor(url: string, limits: Limits): RateLimitOptions | undefined {
  if (url === '/events') {
    return {
      max: limits.RATE_LIMIT_EVENTS,
      keyGenerator: (request: FastifyRequest) => `key:${keyDigest(request.apiKey ?? request.ip)}`,
    };
  }
  if (url.startsWith('/users/')) return { max: limits.RATE_LIMIT_USERS };
  if (url.startsWith('/auth/')) return { max: limits.RATE_LIMIT_AUTH };
  return undefined;
}

/** The 429 answer, shaped like every other error; the plugin has already set Retry-After and the ratelimit-* headers. */
function tooMany(_request: FastifyRequest, context: { max: number; after: string; ttl: number }): HttpError {
  const seconds = Math.max(1, Math.ceil(context.ttl / 1000));
  return tooManyRequests(seconds, `rate limit of ${context.max} requests exceeded; retry in ${context.after}`, {
    path: 'rate-limit',
    message: `at most ${context.max} requests per window; retry after ${seconds} s`,
  });
}

/**
 * Rate limits with their counters in Redis, so that every api process counts together. Registered before the routes:
 * the policy (by path) is attached as each route is added. If Redis is unreachable requests are served unlimited
 * rather than refused: the limits protect the gateway, they are not worth an outage of their own.
 * The admin routes use `adminRateLimit` in their own hook instead, so that it runs before the token check.
 */
export async function registerRateLimits(
  app: FastifyInstance,
  { redis, limits, namespace }: { redis: Redis; limits: Limits; namespace: string },
) {
  app.addHook('onRoute', (route) => {
    const policy = policyFor(route.url, limits);
    if (policy && route.config?.rateLimit === undefined) route.config = { ...route.config, rateLimit: policy };
  });
  await app.register(rateLimit, {
    global: false,
    redis,
    nameSpace: `${namespace}gateway:rate-limit:`,
    timeWindow: limits.RATE_LIMIT_WINDOW_MS,
    skipOnError: true,
    errorResponseBuilder: tooMany,
  });
}

/** The admin API's limit, per client address and shared by its routes, for `app.rateLimit(adminRateLimit(max))`. */
export const adminRateLimit = (max: number): RateLimitOptions => ({ max, groupId: 'admin' });

declare module 'fastify' {
  interface FastifyContextConfig {
    rateLimit?: RateLimitOptions | false;
  }
}
