import { setTimeout as sleep } from 'node:timers/promises';
import type PgBoss from 'pg-boss';
import type pg from 'pg';
import { withTransaction } from '../db/transaction.js';
import type { Logger } from '../logger.js';
import { forgetEventSources, takeStatusNotices, type StatusNotice } from '../store/status-outbox.js';

/** Notices moved per transaction. */
const BATCH = 500;
/** Which key sent an event is kept this long; its deliveries settled long before. */
const SOURCE_RETENTION_DAYS = 30;
const SOURCE_CLEANUP_EVERY_MS = 3_600_000;
const RETRY_AFTER_ERROR_MS = 5_000;

export interface StatusRelayOptions {
  pool: pg.Pool;
  boss: PgBoss;
  queue: string;
  /** pg-boss's retry settings for each notice's job. */
  retry: Pick<PgBoss.JobInsert, 'retryLimit' | 'retryDelay' | 'retryBackoff' | 'expireInSeconds'>;
  logger: Logger;
  /** How often an empty outbox is looked at again. */
  idleMs?: number;
}

/**
 * Hands the notices the ledger's trigger wrote into the outbox to the job queue, in one transaction each batch (the
 * queue's jobs are inserted on the same connection), so a notice is queued once: never lost, never doubled. Deliveries
 * never wait for this: the trigger's insert is all they pay.
 */
export function createStatusRelay({ pool, boss, queue, retry, logger, idleMs = 500 }: StatusRelayOptions) {
  const stopping = new AbortController();
  let running: Promise<void> | undefined;
  let lastCleanup = 0;

  const jobOf = (notice: StatusNotice): PgBoss.JobInsert<StatusNotice> => ({ name: queue, data: notice, ...retry });

  async function relayBatch(): Promise<number> {
    return withTransaction(pool, async (client) => {
      const notices = await takeStatusNotices(client, BATCH);
      if (notices.length) {
        await boss.insert(notices.map(jobOf), { db: { executeSql: (text, values) => client.query(text, values) } });
      }
      return notices.length;
    });
  }

  async function loop(): Promise<void> {
    while (!stopping.signal.aborted) {
      let moved = 0;
      let pause = idleMs;
      try {
        moved = await relayBatch();
        if (Date.now() - lastCleanup > SOURCE_CLEANUP_EVERY_MS) {
          lastCleanup = Date.now();
          await forgetEventSources(pool, SOURCE_RETENTION_DAYS);
        }
      } catch (error) {
        // PostgreSQL away: the notices wait in the outbox, in the ledger's own database; one warning a few seconds.
        logger.warn({ err: error }, 'status notices not relayed; trying again');
        pause = RETRY_AFTER_ERROR_MS;
      }
      if (moved < BATCH) await sleep(pause, undefined, { signal: stopping.signal }).catch(() => {});
    }
  }

  return {
    start() {
      running ??= loop();
    },
    async stop() {
      stopping.abort();
      await running;
    },
  };
}
