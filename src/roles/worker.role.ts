import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import { createWorker } from './worker.composition.js';
import { metricsRoutes } from '../http/metrics.routes.js';
import type { Logger } from '../logger.js';
import type { Role, RoleDeps } from './role.js';

/**
 * Consumes the event topics and delivers on the configured channels (WORKER_CHANNELS). With METRICS_PORT set it also
 * serves GET /metrics: delivery outcomes and latency are counted where the deliveries happen, in this process.
 */
export async function startWorker(config: Config, logger: Logger, { metrics }: RoleDeps): Promise<Role> {
  const worker = await createWorker({ config, logger, metrics });
  await worker.start();
  const name = `worker (${config.WORKER_CHANNELS.join(', ')})`;
  if (!config.METRICS_PORT) return { name, urls: {}, stop: () => worker.stop() };

  const server = Fastify({ loggerInstance: logger.child({ component: 'worker-metrics' }) as FastifyBaseLogger });
  await server.register(metricsRoutes, { metrics, breakers: worker.readBreakerStates });
  const url = await server.listen({ host: config.HOST, port: config.METRICS_PORT });
  return {
    name,
    urls: { metrics: `${url}/metrics` },
    async stop() {
      await server.close();
      await worker.stop();
    },
  };
}
