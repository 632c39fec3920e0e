import { createHash } from 'node:crypto';
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { secretMatcher } from '../util/secrets.js';
import { tooManyRequests, type HttpError } from './errors.js';
import { presentedApiKey } from './guards.js';

type Limits = Pick<
  Config,
  | 'RATE_LIMIT_WINDOW_MS'
  | 'RATE_LIMIT_EVENTS'
  | 'RATE_LIMIT_UNKNOWN_KEYS'
  | 'RATE_LIMIT_USERS'
  | 'RATE_LIMIT_AUTH'
  | 'RATE_LIMIT_ADMIN'
>;

/** One of the plugin's limiters, as an `onRequest` hook: it counts the request, and answers 429 past the limit. */
type Limiter = ReturnType<FastifyInstance['rateLimit']>;

/** An API key is a secret: its counter is named by a digest, so the key never sits in Redis. */
const keyDigest = (key: string) => createHash('sha256').update(key).digest('base64url').slice(0, 22);

/**
 * POST /events counts per API key when the key is a known one, so a partner's budget is its own wherever it sends
 * from; a missing or unknown key counts per client address under a far lower limit, so guessing keys is stopped
 * without touching the partners'.
 */
function ingestLimiter(app: FastifyInstance, limits: Limits, apiKeys: readonly string[]): Limiter {
  const isKnown = secretMatcher(apiKeys);
  const byKey = app.rateLimit({
    max: limits.RATE_LIMIT_EVENTS,
    keyGenerator: (request) => `key:${keyDigest(presentedApiKey(request) ?? '')}`,
  });
  const byAddress = app.rateLimit({ max: limits.RATE_LIMIT_UNKNOWN_KEYS });
  return async function limitIngest(request, reply) {
    const key = presentedApiKey(request);
    return (key !== undefined && isKnown(key) ? byKey : byAddress).call(this, request, reply);
  };
}

/** Which limiter a route falls under, by path; the others count per client address. */
function limiterFor(url: string, limiters: { events: Limiter; users: Limiter; auth: Limiter }): Limiter | undefined {
  if (url === '/events') return limiters.events;
  if (url.startsWith('/users/')) return limiters.users;
  if (url.startsWith('/auth/')) return limiters.auth;
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
 * each route's limiter is put first among its `onRequest` hooks as the route is added, ahead of the guard that checks
 * its credential, so refused requests count too and a client guessing tokens or keys is answered 429. The admin
 * routes put `adminRateLimit` first in their own hooks, one budget for the whole admin API. If Redis is unreachable
 * requests are served unlimited rather than refused: the limits protect the gateway, they are not worth an outage of
 * their own. The client address is Fastify's `request.ip`: behind a load balancer, see `TRUST_PROXY`.
 */
export async function registerRateLimits(
  app: FastifyInstance,
  {
    redis,
    limits,
    apiKeys,
    namespace,
  }: { redis: Redis; limits: Limits; apiKeys: readonly string[]; namespace: string },
) {
  await app.register(rateLimit, {
    global: false,
    redis,
    nameSpace: `${namespace}gateway:rate-limit:`,
    timeWindow: limits.RATE_LIMIT_WINDOW_MS,
    skipOnError: true,
    errorResponseBuilder: tooMany,
  });
  const limiters = {
    events: ingestLimiter(app, limits, apiKeys),
    users: app.rateLimit({ max: limits.RATE_LIMIT_USERS }),
    auth: app.rateLimit({ max: limits.RATE_LIMIT_AUTH }),
  };
  // Added after the plugin's own onRoute hook, which therefore never sees the groupId set here and adds no limiter of
  // its own after the guard (were it to, the plugin runs one limiter per request: the first one, this one).
  app.addHook('onRoute', (route) => {
    const limiter = limiterFor(route.url, limiters);
    if (!limiter || route.config?.rateLimit !== undefined) return;
    // The plugin appends the route's groupId to the client's key: each route (method and path) counts on its own, and
    // the HEAD route Fastify adds beside a GET counts with it, so that it is not a second budget for guesses.
    const method = [route.method]
      .flat()
      .join(',')
      .replace(/^HEAD$/, 'GET');
    route.config = { ...route.config, rateLimit: { groupId: `${method} ${route.url}` } };
    route.onRequest = [limiter, ...[route.onRequest ?? []].flat()];
  });
}

/**
 * The admin API's limit, per client address and shared by its routes, for `app.rateLimit(adminRateLimit(max))`: the
 * admin routes carry no groupId, so their counter is named by the client's address alone.
 */
export const adminRateLimit = (max: number): RateLimitOptions => ({ max });
