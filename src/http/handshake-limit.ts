import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import type { Redis } from 'ioredis';
import { RedisSlidingWindowRateLimiter, type Redis as LimiterRedis } from 'sliding-window-rate-limiter';

export interface HandshakeLimitOptions {
  /** Shared by every api process: the window lives there. */
  redis: Redis;
  /** Handshakes per client address per window. */
  max: number;
  windowMs: number;
  /** The proxies whose X-Forwarded-For is believed, as Fastify's `trustProxy` takes them (TRUST_PROXY); false: none. */
  trustProxy: false | readonly string[];
  namespace: string;
}

/** A handshake the client may make, or how long it should wait before the next one. */
export type HandshakeVerdict = { allowed: true } | { allowed: false; retryAfterS: number };

/** A handshake limit: whether the client of this handshake request may make one more. */
export type HandshakeLimit = (request: IncomingMessage) => Promise<HandshakeVerdict>;

/**
 * Socket.IO's handshakes reach neither Fastify's routes nor their rate limits (the engine answers /socket.io/ on the
 * HTTP server itself), so they are counted here, per client address and before the token is checked: a client that
 * keeps opening sockets with bad tokens is refused like one that keeps guessing on the REST routes. The address is
 * found as Fastify finds `request.ip` (the same proxy-addr, the same trusted proxies). If Redis is unreachable the
 * handshake is let through, as the HTTP limits do.
 */
export function createHandshakeLimit(options: HandshakeLimitOptions): HandshakeLimit {
  const limiter = new RedisSlidingWindowRateLimiter({
    redis: options.redis as unknown as LimiterRedis,
    interval: options.windowMs,
    operationTimeout: 2_000,
  });
  const trusted = options.trustProxy ? proxyAddr.compile([...options.trustProxy]) : () => false;
  const prefix = `${options.namespace}gateway:socket-handshakes:`;
  return async (request) => {
    const address = proxyAddr(request, trusted);
    const reserved = await limiter.reserve(`${prefix}${address}`, options.max).catch(() => ({ token: 1, reset: 0 }));
    if (reserved.token) return { allowed: true };
    return { allowed: false, retryAfterS: Math.max(1, Math.ceil((reserved.reset ?? options.windowMs) / 1000)) };
  };
}
