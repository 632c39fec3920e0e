import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { EventQueuePublisher } from '../queue/event-queue.publisher.js';
import { registerErrorHandling } from './errors.js';
import { eventsRoutes } from './events.routes.js';
import { healthRoutes } from './health.routes.js';
import { createIdempotencyStore } from './idempotency.js';

/** What the HTTP app needs; built by the composition root (or a test) and closed with the app. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  redis: Redis;
  eventQueue: EventQueuePublisher;
}

/** Partners' events are small; anything larger is a mistake or an attack, refused before it is read whole. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** Builds the HTTP app without listening: tests call `inject`, main.ts calls `listen`. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    // One log line per request costs more than the request itself at partner volumes; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });
  registerErrorHandling(app);
  // Events are JSON; a text/plain body is refused as an unsupported type (415) rather than read as a string.
  app.removeContentTypeParser('text/plain');
  app.addHook('onClose', async () => {
    await deps.eventQueue.close();
    deps.redis.disconnect();
  });

  await app.register(healthRoutes, {
    rabbitmq: () => deps.eventQueue.isConnected(),
    redis: async () => (await deps.redis.ping()) === 'PONG',
  });
  await app.register(eventsRoutes, {
    apiKeys: deps.config.INGEST_API_KEYS,
    eventQueue: deps.eventQueue,
    idempotency: createIdempotencyStore(deps.redis),
  });
  return app;
}
