import type PgBoss from 'pg-boss';
import type { Logger } from '../logger.js';
import type { StatusNotice } from '../store/status-outbox.js';
import type { StatusWebhooksRepository } from '../store/status-webhooks.repository.js';
import { postNotice } from './status-poster.js';

export interface StatusDispatcherOptions {
  boss: PgBoss;
  queue: string;
  webhooks: StatusWebhooksRepository;
  /** How long one receiver may take to answer. */
  timeoutMs: number;
  /** After this long since the change, a notice still not taken is given up. */
  giveUpAfterMs: number;
  /** Notices posted at once by this process. */
  concurrency: number;
  logger: Logger;
}

/**
 * Posts queued notices to their webhooks. A failure (no answer, or not a 2xx) throws, and pg-boss tries the job again
 * later with a growing delay; a receiver that is down holds up only its own notices, never a delivery.
 */
export async function startStatusDispatcher(options: StatusDispatcherOptions): Promise<void> {
  const { boss, queue, webhooks, timeoutMs, giveUpAfterMs, concurrency, logger } = options;

  async function dispatch([job]: PgBoss.JobWithMetadata<StatusNotice>[]): Promise<void> {
    const notice = job!.data;
    const target = await webhooks.target(notice.webhookId);
    if (!target) return; // the webhook was removed since
    if (Date.now() - Date.parse(notice.occurredAt) > giveUpAfterMs) {
      logger.warn({ webhookId: notice.webhookId, noticeId: notice.noticeId }, 'status notice given up: too old');
      return;
    }
    try {
      await postNotice(target, notice, timeoutMs);
    } catch (error) {
      await webhooks.recordAttempt(notice.webhookId, (error as Error).message).catch(() => {});
      logger.debug({ err: error, webhookId: notice.webhookId, attempt: job!.retryCount + 1 }, 'status notice failed');
      throw error;
    }
    await webhooks.recordAttempt(notice.webhookId).catch(() => {});
  }

  // One job per handler call, several handlers: one slow receiver does not hold up the others' notices behind it.
  for (let i = 0; i < concurrency; i += 1) {
    await boss.work<StatusNotice>(
      queue,
      { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: 0.5 },
      dispatch,
    );
  }
}
