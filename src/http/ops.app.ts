import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { BreakerState } from '../channels/breaker.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics.js';
import { healthRoutes } from './health.routes.js';
import type { ReadinessCheck } from '../net/readiness.js';
import { metricsRoutes } from './metrics.routes.js';

export interface OpsAppOptions {
  logger: Logger;
  metrics: GatewayMetrics;
  /** What this process depends on: every role in it names its own. */
  checks: Record<string, ReadinessCheck>;
  breakers: () => Promise<Record<string, BreakerState>>;
}

/**
 * `/healthz`, `/readyz` and `/metrics` for a process without the api (a worker, a bridge): what an orchestrator
 * probes and Prometheus scrapes, on METRICS_PORT.
 */
export async function buildOpsApp({ logger, metrics, checks, breakers }: OpsAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger.child({ component: 'ops-http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  await app.register(healthRoutes, { checks, breakers });
  await app.register(metricsRoutes, { metrics, breakers });
  return app;
}
