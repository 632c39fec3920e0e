import type pg from 'pg';
import type { Channel } from '../events/index.js';
import type { ProviderStatus } from './deliveries.batches.js';

/** A delivery the provider took whose final word (delivered, undelivered, failed) has not come back. */
export interface UnsettledDelivery {
  id: string;
  channel: Channel;
  providerId: string;
}

// Oldest first, a batch at a time, each row stamped as it is taken: SKIP LOCKED keeps two workers off the same rows,
// and the stamp keeps them off once the first has committed. A row asked about before waits as long again as it had
// waited then (after, 2 × after, 4 × after … since its last change): a carrier that never reports costs a few
// questions over the hours, not one every interval.
const CLAIM_UNSETTLED = `
  UPDATE deliveries d SET status_checked_at = now()
    FROM (SELECT id FROM deliveries
           WHERE status IN ('queued', 'sent') AND channel IN ('sms', 'whatsapp') AND provider_id IS NOT NULL
             AND updated_at < now() - $1 * interval '1 second' AND updated_at > now() - $2 * interval '1 hour'
             AND (status_checked_at IS NULL
                  OR status_checked_at < now() - greatest($1 * interval '1 second', status_checked_at - updated_at))
           ORDER BY updated_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
   WHERE d.id = due.id
  RETURNING d.id, d.channel, d.provider_id`;

// As a status callback records it: only ever forward (a callback that came in meanwhile is not overwritten), on the
// row alone; the status webhooks' trigger sees it like any other change.
const SETTLE = `
  UPDATE deliveries d SET status = $3::text, error_code = COALESCE($4::text, d.error_code), updated_at = now()
   WHERE d.id = $1 AND d.provider_id = $2
     AND array_position(ARRAY['sending','queued','sent','delivered','undelivered','failed'], d.status)
       < array_position(ARRAY['sending','queued','sent','delivered','undelivered','failed'], $3::text)`;

/** The deliveries whose status callbacks may have been lost, and their settling from the provider's own record. */
export function createStatusReconcileRepository(pool: pg.Pool) {
  return {
    /**
     * Takes up to `limit` deliveries with no change for `afterSeconds` (and not asked about since, see above), among
     * those changed within `withinHours`: a message the carrier never reports on is not asked about for ever.
     */
    async claimUnsettled(afterSeconds: number, withinHours: number, limit: number): Promise<UnsettledDelivery[]> {
      const { rows } = await pool.query<{ id: string; channel: Channel; provider_id: string }>(CLAIM_UNSETTLED, [
        afterSeconds,
        withinHours,
        limit,
      ]);
      return rows.map((r) => ({ id: r.id, channel: r.channel, providerId: r.provider_id }));
    },

    /** Records the provider's status; false when the ledger was already there or further (a callback came). */
    async settle(delivery: UnsettledDelivery, status: ProviderStatus, errorCode?: string): Promise<boolean> {
      const { rowCount } = await pool.query(SETTLE, [delivery.id, delivery.providerId, status, errorCode ?? null]);
      return rowCount === 1;
    },
  };
}

export type StatusReconcileRepository = ReturnType<typeof createStatusReconcileRepository>;
