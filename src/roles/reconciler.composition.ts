import type pg from 'pg';
import { createTwilioStatusLookup } from '../channels/twilio-status-lookup.js';
import type { Config } from '../config.js';
import { createStatusReconciler, type StatusReconciler } from '../consumers/status.reconciler.js';
import type { Channel } from '../events/index.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics.js';
import { createStatusReconcileRepository } from '../store/status-reconcile.repository.js';

/** Twilio's lost status callbacks, made good by asking it: only in a worker that sends SMS or WhatsApp. */
export function composeStatusReconciler(deps: {
  config: Config;
  channels: readonly Channel[];
  pool: pg.Pool;
  metrics: GatewayMetrics;
  logger: Logger;
}): StatusReconciler | undefined {
  const { config, channels, pool, metrics, logger } = deps;
  if (!channels.some((c) => c === 'sms' || c === 'whatsapp')) return undefined;
  return createStatusReconciler({
    store: createStatusReconcileRepository(pool),
    lookup: createTwilioStatusLookup({
      accountSid: config.TWILIO_ACCOUNT_SID,
      authToken: config.TWILIO_AUTH_TOKEN,
      baseUrl: config.TWILIO_API_BASE_URL,
    }),
    metrics,
    logger,
    afterSeconds: config.STATUS_RECONCILE_AFTER_SECONDS,
    withinHours: config.STATUS_RECONCILE_HOURS,
    batchSize: config.STATUS_RECONCILE_BATCH,
  });
}
