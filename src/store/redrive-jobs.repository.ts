import type pg from 'pg';
import { pageOf } from './cursor.js';

export type RedriveStatus = 'running' | 'done' | 'failed' | 'cancelled';

/** A re-drive as GET /admin/redrive shows it: the audit of who asked what, and what it did. */
export interface RedriveJob {
  id: number;
  request: unknown;
  dryRun: boolean;
  status: RedriveStatus;
  progress: Record<string, number>;
  outcomes: Record<string, unknown>;
  /** Why it failed or was cancelled. */
  error: string | null;
  /** Who started it: `admin` (the one shared admin token), and the client address it came from. */
  actor: string;
  clientAddress: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/** Who asks, for the audit. */
export interface RedriveActor {
  actor: string;
  clientAddress: string | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- pg rows are untyped; each column gets its type here
const toJob = (row: any): RedriveJob => ({
  id: Number(row.id),
  request: row.request,
  dryRun: row.dry_run,
  status: row.status,
  progress: row.progress,
  outcomes: row.outcomes,
  error: row.error,
  actor: row.actor,
  clientAddress: row.client_address,
  createdAt: new Date(row.created_at).toISOString(),
  finishedAt: row.finished_at ? new Date(row.finished_at).toISOString() : null,
});

/** One key for every api process: two starting at once must not both slip under the cap. */
const CREATE_LOCK = 'redrive_jobs.create';

/**
 * Re-drive jobs, their progress and their ends. A running job's process beats its heart in the row; one whose heart
 * stopped (the process died) is failed by whichever api sweeps next.
 */
export function createRedriveJobsRepository(pool: pg.Pool) {
  return {
    /**
     * Records a new running job, unless `maxRunning` jobs (with a live heart) already run: then undefined and the
     * number running. Under a transaction-scoped advisory lock, so the count and the insert are one step.
     */
    async create(
      request: unknown,
      dryRun: boolean,
      who: RedriveActor,
      limits: { maxRunning: number; staleMs: number },
    ): Promise<{ job: RedriveJob } | { running: number }> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [CREATE_LOCK]);
        const { rows: counted } = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM redrive_jobs
            WHERE status = 'running' AND heartbeat_at > now() - $1 * interval '1 millisecond'`,
          [limits.staleMs],
        );
        if (counted[0]!.n >= limits.maxRunning) {
          await client.query('ROLLBACK');
          return { running: counted[0]!.n };
        }
        const { rows } = await client.query(
          `INSERT INTO redrive_jobs (request, dry_run, actor, client_address) VALUES ($1, $2, $3, $4) RETURNING *`,
          [JSON.stringify(request), dryRun, who.actor, who.clientAddress],
        );
        await client.query('COMMIT');
        return { job: toJob(rows[0]) };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },

    async get(id: number): Promise<RedriveJob | undefined> {
      const { rows } = await pool.query('SELECT * FROM redrive_jobs WHERE id = $1', [id]);
      return rows[0] ? toJob(rows[0]) : undefined;
    },

    /** Newest first, `limit` at a time below `before`: the audit of every re-drive. */
    async list({ limit, before }: { limit: number; before?: number }) {
      const { rows } = await pool.query(
        'SELECT * FROM redrive_jobs WHERE ($1::bigint IS NULL OR id < $1) ORDER BY id DESC LIMIT $2',
        [before ?? null, limit + 1],
      );
      return pageOf(rows.map(toJob), limit);
    },

    /**
     * Writes the counts so far and beats the job's heart; answers the job's status, so a runner learns that another
     * api cancelled it. Counts are written whatever the status: a cancelled job keeps what it did up to its stop.
     */
    async report(
      id: number,
      progress: Record<string, number>,
      outcomes: Record<string, unknown>,
    ): Promise<RedriveStatus | undefined> {
      const { rows } = await pool.query<{ status: RedriveStatus }>(
        `UPDATE redrive_jobs SET progress = $2, outcomes = $3, heartbeat_at = now() WHERE id = $1 RETURNING status`,
        [id, JSON.stringify(progress), JSON.stringify(outcomes)],
      );
      return rows[0]?.status;
    },

    /** Ends a running job; one already ended (cancelled meanwhile) keeps its end. */
    async finish(id: number, status: 'done' | 'failed' | 'cancelled', error?: string): Promise<void> {
      await pool.query(
        `UPDATE redrive_jobs SET status = $2, error = $3, finished_at = now() WHERE id = $1 AND status = 'running'`,
        [id, status, error ?? null],
      );
    },

    /** Cancels a running job: the job as it now stands, or undefined when it was not running. */
    async cancel(id: number, reason: string): Promise<RedriveJob | undefined> {
      const { rows } = await pool.query(
        `UPDATE redrive_jobs SET status = 'cancelled', error = $2, finished_at = now()
          WHERE id = $1 AND status = 'running' RETURNING *`,
        [id, reason],
      );
      return rows[0] ? toJob(rows[0]) : undefined;
    },

    /** Fails the running jobs whose heart stopped `staleMs` ago: their process died. Answers their ids. */
    async failAbandoned(staleMs: number): Promise<number[]> {
      const { rows } = await pool.query<{ id: string }>(
        `UPDATE redrive_jobs
            SET status = 'failed', finished_at = now(),
                error = 'abandoned: the api process running it stopped without ending it (no heartbeat since ' ||
                        to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ')'
          WHERE status = 'running' AND heartbeat_at < now() - $1 * interval '1 millisecond'
          RETURNING id`,
        [staleMs],
      );
      return rows.map((r) => Number(r.id));
    },
  };
}

export type RedriveJobsRepository = ReturnType<typeof createRedriveJobsRepository>;
