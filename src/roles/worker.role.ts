import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import { createWorker } from '../consumers/worker.js';
import { metricsRoutes } from '../http/metrics.routes.js';
import type { Logger } from '../logger.js';
import type { Role } from './role.js';

/**
 * Consumes the event topics and delivers on the configured channels (WORKER_CHANNELS). With METRICS_PORT set it also
 * serves GET /metrics: delivery outcomes and latency are counted where the deliveries happen, in this process.
 */
export async function startWorker(config: Config, logger: Logger): Promise<Role> {
  const worker = await createWorker({ config, logger });
  await worker.start();
  const name = `worker (${config.WORKER_CHANNELS.join(', ')})`;
  if (!config.METRICS_PORT) return { name, urls: {}, stop: () => worker.stop() };

  const metrics = Fastify({ loggerInstance: logger.child({ component: 'worker-metrics' }) as FastifyBaseLogger });
  await metrics.register(metricsRoutes, { breakers: worker.readBreakerStates });
  const url = await metrics.listen({ host: config.HOST, port: config.METRICS_PORT });
  return {
    name,
    urls: { metrics: `${url}/metrics` },
    async stop() {
      await metrics.close();
      await worker.stop();
    },
  };
}
