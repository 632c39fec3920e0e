import type { FastifyInstance } from 'fastify';

/** A dependency's readiness: the role is ready when every check says so. */
export type ReadinessCheck = () => Promise<boolean> | boolean;

export interface HealthOptions {
  checks: Record<string, ReadinessCheck>;
  /** Shown in /readyz without deciding readiness: an open breaker pauses a channel, the api still serves. */
  breakers?: () => Promise<Record<string, string>>;
}

/** `/healthz`: the process answers. `/readyz`: every dependency it needs answers too (503 with the list otherwise). */
export async function healthRoutes(app: FastifyInstance, { checks, breakers }: HealthOptions): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const results = Object.fromEntries(
      await Promise.all(
        Object.entries(checks).map(
          async ([name, check]) =>
            [
              name,
              await Promise.resolve()
                .then(check)
                .catch(() => false),
            ] as const,
        ),
      ),
    );
    const ready = Object.values(results).every(Boolean);
    const breakerStates = breakers ? await breakers().catch(() => ({})) : undefined;
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not_ready',
      checks: results,
      ...(breakerStates && { breakers: breakerStates }),
    });
  });
}
