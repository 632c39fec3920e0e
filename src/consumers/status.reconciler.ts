import pMap from 'p-map';
import type { ProviderRecord } from '../channels/twilio-status-lookup.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics.js';
import type { StatusReconcileRepository } from '../store/status-reconcile.repository.js';

const FINAL = new Set(['delivered', 'undelivered', 'failed']);

/**
 * Settles SMS and WhatsApp deliveries whose status callbacks were lost. Twilio posts each status once and does not try
 * again when the gateway's api did not answer in time (under load, or while it restarted), which left deliveries
 * `queued` for good; so each worker asks Twilio for those without news for `afterSeconds`, a batch per round, each row
 * by one worker (the repository's claim). Nothing here throws past a round: a provider or database that fails is
 * logged, and the rows are asked about again an interval later.
 */
export function createStatusReconciler({
  store,
  lookup,
  metrics,
  logger,
  afterSeconds,
  withinHours,
  batchSize,
  concurrency = 4,
}: {
  store: StatusReconcileRepository;
  /** The provider's record of a message by its id. */
  lookup: (providerId: string) => Promise<ProviderRecord | undefined>;
  metrics: Pick<GatewayMetrics, 'statusesReconciled'>;
  logger: Logger;
  afterSeconds: number;
  /** How long after its last change a message is still asked about. */
  withinHours: number;
  batchSize: number;
  /** Questions to the provider in flight at once. */
  concurrency?: number;
}) {
  if (!(afterSeconds > 0) || !(batchSize > 0)) throw new TypeError('afterSeconds and batchSize must be positive');
  const log = logger.child({ component: 'status-reconciler' });
  // Often enough that a row is asked about soon after it is due, rarely enough to cost nothing when none is.
  const intervalMs = Math.max(250, Math.min((afterSeconds * 1000) / 2, 30_000));
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function round(): Promise<void> {
    const due = await store.claimUnsettled(afterSeconds, withinHours, batchSize);
    // The first failure ends the round (a provider away fails them all alike); the rest are asked again next interval.
    await pMap(
      due,
      async (delivery) => {
        const record = await lookup(delivery.providerId);
        if (!record || record.status === 'queued') return;
        const moved = await store.settle(delivery, record.status, record.errorCode);
        if (moved && FINAL.has(record.status))
          metrics.statusesReconciled.inc({ channel: delivery.channel, status: record.status });
      },
      { concurrency },
    );
    if (due.length > 0) log.info({ asked: due.length }, 'asked the provider for statuses its callbacks did not bring');
  }

  const tick = () => {
    running ??= round()
      .catch((error: unknown) => log.warn({ err: error }, 'status reconciliation failed; trying again later'))
      .finally(() => (running = undefined));
  };

  return {
    start() {
      timer = setInterval(tick, intervalMs);
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

export type StatusReconciler = ReturnType<typeof createStatusReconciler>;
