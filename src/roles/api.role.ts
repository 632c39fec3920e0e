import { createPool } from '../db/pool.js';
import { createRedis } from '../net/redis.js';
import type { Config } from '../config.js';
import { buildApp } from '../http/app.js';
import type { Logger } from '../logger.js';
import { connectAmqp } from '../queue/amqp.js';
import { createEventQueuePublisher } from '../queue/event-queue.publisher.js';
import { eventQueues } from '../queue/event-queues.js';
import type { Role } from './role.js';

/** The HTTP server: partners' events in; live alerts (Socket.IO), itineraries and pages out. */
export async function startApi(config: Config, logger: Logger): Promise<Role> {
  const connection = connectAmqp(config.AMQP_URL, { logger, name: 'api' });
  const eventQueue = createEventQueuePublisher({ connection, queues: eventQueues(config.AMQP_QUEUE_PREFIX) });
  const redis = createRedis(config.REDIS_URL);
  const app = await buildApp({ config, logger, redis, eventQueue, pool: createPool(config.DATABASE_URL, logger) });
  const address = await app.listen({ host: config.HOST, port: config.PORT });
  return {
    name: 'api',
    urls: { api: address, alerts: `${address}/alerts.html`, health: `${address}/readyz` },
    stop: async () => {
      await app.close();
      await connection.close();
    },
  };
}
