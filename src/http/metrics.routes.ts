import type { FastifyInstance } from 'fastify';
import type { BreakerState } from '../channels/breaker.js';
import { BREAKER_STATE_VALUE, type GatewayMetrics } from '../metrics.js';

/** `GET /metrics` in Prometheus' text format; breaker states are refreshed from where the workers write them. */
export async function metricsRoutes(
  app: FastifyInstance,
  {
    metrics: { registry, breakerState },
    breakers,
  }: { metrics: GatewayMetrics; breakers: () => Promise<Record<string, BreakerState>> },
): Promise<void> {
  app.get('/metrics', async (_request, reply) => {
    const states = await breakers().catch(() => ({}) as Record<string, BreakerState>);
    for (const [provider, state] of Object.entries(states))
      breakerState.set({ provider }, BREAKER_STATE_VALUE[state] ?? 0);
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
