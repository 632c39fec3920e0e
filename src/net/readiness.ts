import type { Redis } from 'ioredis';
import pTimeout from 'p-timeout';
import type pg from 'pg';

/** A dependency's readiness: the role is ready when every check says so. */
export type ReadinessCheck = () => Promise<boolean> | boolean;

/** PostgreSQL answers a statement: the check every role with a pool makes. */
export const postgresAnswers =
  (pool: pg.Pool): ReadinessCheck =>
  async () =>
    (await pool.query('SELECT 1')).rowCount === 1;

/** Redis answers a PING. */
export const redisAnswers =
  (redis: Redis): ReadinessCheck =>
  async () =>
    (await redis.ping()) === 'PONG';

/** Short enough that an orchestrator polling every few seconds sees a dependency go within one poll or two. */
export const CHECK_TIMEOUT_MS = 2000;

/** Each check, run with its deadline: true, or false for an error, a "no" or no answer in time. */
export async function runChecks(
  checks: Record<string, ReadinessCheck>,
  timeoutMs = CHECK_TIMEOUT_MS,
): Promise<Record<string, boolean>> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      const answer = pTimeout(Promise.resolve().then(check), { milliseconds: timeoutMs });
      return [name, await answer.catch(() => false)] as const;
    }),
  );
  return Object.fromEntries(results);
}
