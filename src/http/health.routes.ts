import type { FastifyInstance } from 'fastify';
import { CHECK_TIMEOUT_MS, runChecks, type ReadinessCheck } from '../net/readiness.js';

export interface HealthOptions {
  checks: Record<string, ReadinessCheck>;
  /** Shown in /readyz without deciding readiness: an open breaker pauses a channel, the api still serves. */
  breakers?: () => Promise<Record<string, string>>;
  /** A check that has not answered by then counts as failed: a stopped server often does not refuse, it is silent. */
  checkTimeoutMs?: number;
}

/**
 * `/healthz`: the process answers. `/readyz`: every dependency it needs answers too, each within its deadline (503
 * naming the ones that did not).
 */
export async function healthRoutes(
  app: FastifyInstance,
  { checks, breakers, checkTimeoutMs = CHECK_TIMEOUT_MS }: HealthOptions,
): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const results = await runChecks(checks, checkTimeoutMs);
    const ready = Object.values(results).every(Boolean);
    const breakerStates = breakers ? await breakers().catch(() => ({})) : undefined;
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not_ready',
      checks: results,
      ...(breakerStates && { breakers: breakerStates }),
    });
  });
}
