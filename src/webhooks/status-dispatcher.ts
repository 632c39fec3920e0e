import type PgBoss from 'pg-boss';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics.js';
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
  counted: GatewayMetrics['statusNotices'];
}

/**
 * Posts queued notices to their webhooks, a batch at a time. A notice whose post fails (no answer, or not a 2xx) is
 * failed on its own, and pg-boss tries it again later with a growing delay; the rest of its batch completes. A
 * receiver that is down holds up only its own notices, never a delivery.
 */
export async function startStatusDispatcher(options: StatusDispatcherOptions): Promise<void> {
  const { boss, queue, webhooks, timeoutMs, giveUpAfterMs, concurrency, logger, counted } = options;

  async function dispatch(job: PgBoss.JobWithMetadata<StatusNotice>): Promise<void> {
    const notice = job.data;
    const target = await webhooks.target(notice.webhookId);
    if (!target) {
      counted.inc({ outcome: 'dropped' }); // the webhook was removed since
      return;
    }
    if (Date.now() - Date.parse(notice.occurredAt) > giveUpAfterMs) {
      logger.warn({ webhookId: notice.webhookId, noticeId: notice.noticeId }, 'status notice given up: too old');
      counted.inc({ outcome: 'given_up' });
      return;
    }
    try {
      await postNotice(target, notice, timeoutMs);
    } catch (error) {
      counted.inc({ outcome: 'refused' });
      await webhooks.recordAttempt(notice.webhookId, (error as Error).message).catch(() => {});
      logger.debug({ err: error, webhookId: notice.webhookId, attempt: job.retryCount + 1 }, 'status notice failed');
      // Failed here, it leaves the batch: pg-boss completes only the jobs still active when the handler returns.
      await boss.fail(queue, job.id, { message: (error as Error).message });
      return;
    }
    counted.inc({ outcome: 'posted' });
    await webhooks.recordAttempt(notice.webhookId).catch(() => {});
  }

  // One poller per process, its batch posted at once: several pollers would each ask PostgreSQL every interval.
  await boss.work<StatusNotice>(
    queue,
    { batchSize: concurrency, includeMetadata: true, pollingIntervalSeconds: 1 },
    async (jobs) => {
      await Promise.all(jobs.map(dispatch));
    },
  );
}
