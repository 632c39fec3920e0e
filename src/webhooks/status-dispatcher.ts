import type PgBoss from 'pg-boss';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics.js';
import type { StatusNotice } from '../store/status-outbox.js';
import type { StatusWebhooksRepository } from '../store/status-webhooks.repository.js';
import type { AddressGuard } from './address-guard.js';
import { ReceiverBusyError, createReceiverLanes } from './receiver-lanes.js';
import { postNotice } from './status-poster.js';

export interface StatusDispatcherOptions {
  boss: PgBoss;
  queue: string;
  webhooks: StatusWebhooksRepository;
  /** How long one receiver may take to answer. */
  timeoutMs: number;
  /** After this long since the change, a notice still not taken is given up. */
  giveUpAfterMs: number;
  /** Notices this process holds at once (posting, or waiting for their receiver's turn). */
  concurrency: number;
  /** Posts in flight to one receiver. */
  perReceiver: number;
  /** Where a notice may be posted (WEBHOOK_BLOCK_PRIVATE, WEBHOOK_ALLOWED_HOSTS). */
  guard: AddressGuard;
  logger: Logger;
  counted: GatewayMetrics['statusNotices'];
}

type Job = PgBoss.JobWithMetadata<StatusNotice>;
/** How often an empty queue is asked again. */
const POLL_MS = 500;
/** How long a breaker stays open before one trial post. */
const BREAKER_RESET_MS = 30_000;
const STOP_GRACE_MS = 3_000;

/**
 * Posts queued notices to their webhooks. Each notice is fetched, posted in its receiver's lane (its own concurrency
 * and breaker: receiver-lanes.ts) and completed or failed on its own, so a receiver that hangs delays only its own
 * notices: one receiver holds at most half of this process's notices, and none once its breaker is open. A failed
 * notice is tried again later by pg-boss, with a growing delay. A receiver never holds up a delivery.
 */
export function createStatusDispatcher(options: StatusDispatcherOptions) {
  const { boss, queue, webhooks, timeoutMs, giveUpAfterMs, concurrency, logger, counted } = options;
  const lanes = createReceiverLanes({
    perReceiver: options.perReceiver,
    heldPerReceiver: Math.max(options.perReceiver, Math.ceil(concurrency / 2)),
    resetMs: BREAKER_RESET_MS,
  });
  const inHand = new Set<string>();
  let stopping = false;
  let running: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  /** Undefined when the notice is settled (posted, dropped or given up); else why it is to be tried again. */
  async function dispatch(notice: StatusNotice): Promise<string | undefined> {
    const target = await webhooks.target(notice.webhookId);
    if (!target) {
      lanes.forget(notice.webhookId);
      counted.inc({ outcome: 'dropped' }); // the webhook was removed since
      return undefined;
    }
    if (Date.now() - Date.parse(notice.occurredAt) > giveUpAfterMs) {
      logger.warn({ webhookId: notice.webhookId, noticeId: notice.noticeId }, 'status notice given up: too old');
      counted.inc({ outcome: 'given_up' });
      return undefined;
    }
    try {
      await lanes.post(notice.webhookId, () => postNotice(target, notice, { timeoutMs, guard: options.guard }));
    } catch (error) {
      const reason = (error as Error).message;
      // A deferral is this process's doing, not the receiver's: its health shows what the receiver last did.
      const deferred = error instanceof ReceiverBusyError;
      counted.inc({ outcome: deferred ? 'deferred' : 'refused' });
      if (!deferred) await webhooks.recordAttempt(notice.webhookId, reason).catch(() => {});
      return reason;
    }
    counted.inc({ outcome: 'posted' });
    await webhooks.recordAttempt(notice.webhookId).catch(() => {});
    return undefined;
  }

  async function handle(job: Job): Promise<void> {
    try {
      const failure = await dispatch(job.data);
      if (!inHand.has(job.id)) return; // failed by stop() meanwhile, to be posted again
      if (failure === undefined) await boss.complete(queue, job.id);
      else await boss.fail(queue, job.id, { message: failure });
      logger.debug({ webhookId: job.data.webhookId, attempt: job.retryCount + 1, failure }, 'status notice tried');
    } catch (error) {
      // PostgreSQL away: the job stays active, expires, and is posted again (same webhook-id) by whoever is up.
      logger.warn({ err: error }, 'status notice not settled');
    } finally {
      inHand.delete(job.id);
      wake?.();
    }
  }

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function loop(): Promise<void> {
    while (!stopping) {
      const room = concurrency - inHand.size;
      let jobs: Job[] = [];
      if (room > 0) {
        jobs = await boss.fetch<StatusNotice>(queue, { batchSize: room, includeMetadata: true }).catch((error) => {
          logger.warn({ err: error }, 'status notices not fetched; trying again');
          return [];
        });
      }
      for (const job of jobs) {
        inHand.add(job.id);
        void handle(job);
      }
      if (jobs.length === 0 || inHand.size >= concurrency) await pause(POLL_MS);
    }
  }

  return {
    start(): void {
      running ??= loop();
    },
    /** Posts in flight get a few seconds; one still going then is failed, and posted again later (same webhook-id). */
    async stop(): Promise<void> {
      stopping = true;
      wake?.();
      await running;
      const deadline = Date.now() + STOP_GRACE_MS;
      while (inHand.size > 0 && Date.now() < deadline) await pause(50);
      const left = [...inHand];
      inHand.clear();
      if (left.length) await boss.fail(queue, left).catch(() => {});
      lanes.close();
    },
  };
}
