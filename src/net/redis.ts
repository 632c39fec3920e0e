import { Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis client with deadlines: a command Redis does not answer in 2 s fails (callers fall back to PostgreSQL or
 * retry) rather than waiting for ever, and a connection attempt gives up after 5 s and tries again.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { commandTimeout: 2_000, connectTimeout: 5_000, maxRetriesPerRequest: 2, ...options });
}

/** The commands a pub/sub library sends without waiting for their answers. */
const PUB_SUB_COMMANDS = ['subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe', 'publish'] as const;

/**
 * A client for a library that sends pub/sub commands and drops their promises (Socket.IO's Redis adapter): a command
 * that fails (timed out on a loaded machine, or the connection closed while the process stops) would be an unhandled
 * rejection, which stops the process. Here each failure reaches `onFailure` instead. No command deadline: a
 * subscription waits for a slow server rather than fail, and ioredis subscribes again after a reconnect.
 */
export function pubSubClient(redis: Redis, onFailure: (error: unknown, command: string) => void): Redis {
  const client = redis.duplicate({ commandTimeout: undefined });
  for (const name of PUB_SUB_COMMANDS) {
    const command = client[name] as (...args: unknown[]) => Promise<unknown>;
    Object.defineProperty(client, name, {
      value: (...args: unknown[]) => {
        const reply = command.apply(client, args);
        reply.catch((error: unknown) => onFailure(error, name));
        return reply;
      },
    });
  }
  return client;
}
