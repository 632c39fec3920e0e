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
// questions over the hours, not one every interval. The candidates are the unsettled list (messages sent and not
// yet finally reported, see migration 0022), a few thousand rows at most, rather than an index over the ledger's
// status: an index naming the status would make every status callback write an entry in every index.
const CLAIM_UNSETTLED = `
  UPDATE deliveries d SET status_checked_at = now()
    FROM (SELECT d.id FROM unsettled_sends u JOIN deliveries d ON d.id = u.delivery_id
           WHERE d.status IN ('queued', 'sent') AND d.provider_id IS NOT NULL
             AND d.updated_at < now() - $1 * interval '1 second' AND d.updated_at > now() - $2 * interval '1 hour'
             AND (d.status_checked_at IS NULL
                  OR d.status_checked_at < now() - greatest($1 * interval '1 second', d.status_checked_at - d.updated_at))
           ORDER BY d.updated_at LIMIT $3 FOR UPDATE OF d SKIP LOCKED) due
   WHERE d.id = due.id
  RETURNING d.id, d.channel, d.provider_id`;

// Off the list: a message finally reported (by a path that did not take it off itself), or one no longer asked
// about because its last change is older than the window.
const FORGET_SETTLED = `
  DELETE FROM unsettled_sends u
   WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = u.delivery_id AND d.status IN ('queued', 'sent')
                        AND d.updated_at > now() - $1 * interval '1 hour')`;

// As a status callback records it: only ever forward (a callback that came in meanwhile is not overwritten), on the
// row alone; the status webhooks' trigger sees it like any other change. The final word takes it off the list.
const SETTLE = `
  WITH moved AS (
    UPDATE deliveries d SET status = $3::text, error_code = COALESCE($4::text, d.error_code), updated_at = now()
     WHERE d.id = $1 AND d.provider_id = $2
       AND array_position(ARRAY['sending','queued','sent','delivered','undelivered','failed'], d.status)
         < array_position(ARRAY['sending','queued','sent','delivered','undelivered','failed'], $3::text)
    RETURNING d.id, d.status),
  settled AS (
    DELETE FROM unsettled_sends u USING moved m
     WHERE u.delivery_id = m.id AND m.status IN ('delivered', 'undelivered', 'failed'))
  SELECT id FROM moved`;

/** The deliveries whose status callbacks may have been lost, and their settling from the provider's own record. */
export function createStatusReconcileRepository(pool: pg.Pool) {
  return {
    /**
     * Takes up to `limit` deliveries with no change for `afterSeconds` (and not asked about since, see above), among
     * those changed within `withinHours`: a message the carrier never reports on is not asked about for ever.
     */
    async claimUnsettled(afterSeconds: number, withinHours: number, limit: number): Promise<UnsettledDelivery[]> {
      await pool.query(FORGET_SETTLED, [withinHours]);
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
