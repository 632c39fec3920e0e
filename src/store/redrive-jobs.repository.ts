import type pg from 'pg';

export type RedriveStatus = 'running' | 'done' | 'failed';

export interface RedriveJob {
  id: number;
  request: unknown;
  dryRun: boolean;
  status: RedriveStatus;
  progress: Record<string, number>;
  outcomes: Record<string, unknown>;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
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
  createdAt: new Date(row.created_at).toISOString(),
  finishedAt: row.finished_at ? new Date(row.finished_at).toISOString() : null,
});

/** Re-drive jobs and their progress, and the ledger's word on whether an event went out on a channel. */
export function createRedriveJobsRepository(pool: pg.Pool) {
  return {
    async create(request: unknown, dryRun: boolean): Promise<RedriveJob> {
      const { rows } = await pool.query('INSERT INTO redrive_jobs (request, dry_run) VALUES ($1, $2) RETURNING *', [
        JSON.stringify(request),
        dryRun,
      ]);
      return toJob(rows[0]);
    },

    async get(id: number): Promise<RedriveJob | undefined> {
      const { rows } = await pool.query('SELECT * FROM redrive_jobs WHERE id = $1', [id]);
      return rows[0] ? toJob(rows[0]) : undefined;
    },

    async report(id: number, progress: Record<string, number>, outcomes: Record<string, unknown>): Promise<void> {
      await pool.query('UPDATE redrive_jobs SET progress = $2, outcomes = $3 WHERE id = $1', [
        id,
        JSON.stringify(progress),
        JSON.stringify(outcomes),
      ]);
    },

    async finish(id: number, status: 'done' | 'failed', error?: string): Promise<void> {
      await pool.query('UPDATE redrive_jobs SET status = $2, error = $3, finished_at = now() WHERE id = $1', [
        id,
        status,
        error ?? null,
      ]);
    },

    /**
     * Whether the event went out on the channel to everyone the ledger knows of: some row, and none that failed
     * (a failure, a dead letter, or a claim that was released and never settled).
     */
    async deliveredOn(eventId: string, channel: string): Promise<boolean> {
      const { rows } = await pool.query<{ total: number; open: number }>(
        `SELECT count(*)::int AS total,
                count(*) FILTER (WHERE status IN ('failed', 'dead_lettered', 'undelivered', 'sending'))::int AS open
           FROM deliveries WHERE event_id = $1 AND channel = $2`,
        [eventId, channel],
      );
      return rows[0]!.total > 0 && rows[0]!.open === 0;
    },
  };
}

export type RedriveJobsRepository = ReturnType<typeof createRedriveJobsRepository>;
