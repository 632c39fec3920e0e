import PgBoss from 'pg-boss';
import type pg from 'pg';
import type { FieldCipher } from '../util/field-cipher.js';
import { withTransaction } from '../db/transaction.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics.js';
import { createStatusWebhooksRepository } from '../store/status-webhooks.repository.js';
import { createAddressGuard, type AddressPolicy } from './address-guard.js';
import { createStatusDispatcher } from './status-dispatcher.js';
import { createStatusRelay } from './status-relay.js';

const QUEUE = 'delivery-status-webhooks';
const STOP_GRACE_MS = 3_000;
/** Our own advisory lock key for creating the queue (the migrations use another). */
const QUEUE_LOCK_KEY = 4_180_231_911;

export interface StatusWebhooksOptions {
  databaseUrl: string;
  pool: pg.Pool;
  /** Opens the webhooks' signing secrets, sealed at rest. */
  cipher: FieldCipher;
  logger: Logger;
  /** The first retry's delay; each next one about doubles (with jitter). */
  retryDelaySeconds: number;
  /** How long a notice is tried for. */
  retryHours: number;
  timeoutMs: number;
  /** Notices a worker holds at once, and posts in flight to one receiver. */
  concurrency: number;
  perReceiver: number;
  /** Which receivers' addresses may be connected to. */
  addresses: AddressPolicy;
  metrics: GatewayMetrics;
}

/**
 * Enough retries for the doubling delays to add up to the whole window: d·(2ⁿ − 1) ≥ window, the least pg-boss waits.
 * The dispatcher gives a notice up once the window has passed, whatever retries remain.
 */
export const retriesFor = (delaySeconds: number, hours: number): number =>
  Math.ceil(Math.log2((hours * 3600) / delaySeconds + 1));

/**
 * Delivery status webhooks in a worker: the relay from the ledger's outbox to pg-boss (the job queue, in the same
 * PostgreSQL as the ledger, so a queued notice is as durable as the status it reports) and the dispatcher that posts.
 */
export function createStatusWebhooks(options: StatusWebhooksOptions) {
  const { databaseUrl, pool, logger } = options;
  const log = logger.child({ component: 'status-webhooks' });
  const boss = new PgBoss({
    connectionString: databaseUrl,
    max: 4,
    application_name: 'gateway-status-webhooks',
    // Its cron scheduler is not used; its maintenance (expiry, archiving, retention) is, and finds a post whose
    // worker died (the job stays active until it expires) within half a minute of its expiry.
    schedule: false,
    maintenanceIntervalSeconds: 30,
  });
  boss.on('error', (error) => log.warn({ err: error }, 'job queue error'));
  const relay = createStatusRelay({
    pool,
    boss,
    queue: QUEUE,
    logger: log,
    retry: {
      retryLimit: retriesFor(options.retryDelaySeconds, options.retryHours),
      retryDelay: options.retryDelaySeconds,
      retryBackoff: true,
      // A post still active past its own timeout has lost its worker (killed mid-post); pg-boss then retries it.
      expireInSeconds: Math.ceil(options.timeoutMs / 1000) + 10,
    },
  });

  const dispatcher = createStatusDispatcher({
    boss,
    queue: QUEUE,
    webhooks: createStatusWebhooksRepository(pool, options.cipher),
    timeoutMs: options.timeoutMs,
    giveUpAfterMs: options.retryHours * 3_600_000,
    concurrency: options.concurrency,
    perReceiver: options.perReceiver,
    guard: createAddressGuard(options.addresses),
    logger: log,
    counted: options.metrics.statusNotices,
  });

  return {
    async start() {
      await boss.start();
      // pg-boss's create_queue deadlocks when two workers starting together both run it: one at a time, under a lock
      // held on the ledger's pool until the queue is there.
      await withTransaction(pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [QUEUE_LOCK_KEY]);
        if (!(await boss.getQueue(QUEUE))) await boss.createQueue(QUEUE);
      });
      dispatcher.start();
      relay.start();
    },
    async stop() {
      await relay.stop();
      // Posts in flight get a few seconds, well inside the process's own shutdown deadline; one still going is failed
      // and posted again later (with the same webhook-id, so a receiver that took it drops the copy). Jobs not
      // started stay queued for the next worker.
      await dispatcher.stop();
      await boss.stop({ graceful: true, wait: true, timeout: STOP_GRACE_MS });
    },
  };
}
