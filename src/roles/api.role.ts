import type { FastifyInstance } from 'fastify';
import { createReplayProducer } from '../admin/replay-producer.js';
import type { Config } from '../config.js';
import { createPool } from '../db/pool.js';
import { buildApp } from '../http/app.js';
import type { Logger } from '../logger.js';
import { createMetrics, type GatewayMetrics } from '../metrics.js';
import { kafkaProbeFor } from '../kafka/probe.js';
import { createRedis } from '../net/redis.js';
import { connectAmqp } from '../queue/amqp.js';
import { createEventQueuePublisher, type EventQueuePublisher } from '../queue/event-queue.publisher.js';
import { eventQueues } from '../queue/event-queues.js';
import type { Role, RoleDeps } from './role.js';

/** The api built from its configuration, not yet listening: what `startApi` serves, and what the tests drive. */
export interface ComposedApi {
  app: FastifyInstance;
  /** Whether the api can accept events is whether this is connected to RabbitMQ. */
  eventQueue: EventQueuePublisher;
  /** Closes the app (and with it every client it was given), then the RabbitMQ connection. */
  close(): Promise<void>;
}

/** Builds the clients the api uses from `config` and the app on them. */
export async function composeApi(
  config: Config,
  logger: Logger,
  { name = 'api', metrics = createMetrics() }: { name?: string; metrics?: GatewayMetrics } = {},
): Promise<ComposedApi> {
  const connection = connectAmqp(config.AMQP_URL, { logger, name });
  const eventQueue = createEventQueuePublisher({ connection, queues: eventQueues(config.AMQP_QUEUE_PREFIX) });
  const app = await buildApp({
    config,
    logger,
    eventQueue,
    redis: createRedis(config.REDIS_URL),
    pool: createPool(config.DATABASE_URL, logger),
    replays: createReplayProducer({ config, logger: logger.child({ component: 'dlq-replay' }) }),
    metrics,
    kafka: kafkaProbeFor(config.KAFKA_BROKERS, config.KAFKA_CLIENT_ID, logger),
  });
  return {
    app,
    eventQueue,
    close: async () => {
      await app.close();
      await connection.close();
    },
  };
}

/** The HTTP server: partners' events in; live alerts (Socket.IO), itineraries and pages out. */
export async function startApi(config: Config, logger: Logger, { metrics }: RoleDeps): Promise<Role> {
  const api = await composeApi(config, logger, { metrics });
  const address = await api.app.listen({ host: config.HOST, port: config.PORT });
  return {
    name: 'api',
    urls: { api: address, alerts: `${address}/alerts.html`, health: `${address}/readyz` },
    stop: () => api.close(),
  };
}
