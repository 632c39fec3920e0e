import type pg from 'pg';
import type { ReportedStatus } from './status-webhooks.repository.js';

/** One status change of one delivery, for one webhook: what the webhook's receiver is told. */
export interface StatusNotice {
  /** Stable across every attempt to post it: receivers drop repeats by it (`webhook-id`). */
  noticeId: string;
  webhookId: number;
  deliveryId: string;
  eventId: string;
  eventType: string;
  channel: string;
  userId: string;
  status: ReportedStatus;
  providerId: string | null;
  errorCode: string | null;
  occurredAt: string;
}

// Locked rows are another relay's; the ledger's columns are read as they are now (an erased user's id stays: ids are
// kept for the audit trail).
const TAKE = `
  WITH taken AS (
    DELETE FROM status_webhook_outbox WHERE id IN (
      SELECT id FROM status_webhook_outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING *)
  SELECT t.id, t.webhook_id, t.delivery_id, t.status, t.error_code, t.occurred_at,
         d.event_id, d.event_type, d.channel, d.user_id, d.provider_id
    FROM taken t JOIN deliveries d ON d.id = t.delivery_id ORDER BY t.id`;

/** Takes up to `limit` notices out of the outbox, inside the caller's transaction: gone only if it commits. */
export async function takeStatusNotices(client: pg.PoolClient, limit: number): Promise<StatusNotice[]> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- pg rows are untyped; each column gets its type here
  const { rows } = await client.query<any>(TAKE, [limit]);
  return rows.map((r) => ({
    noticeId: `status_${r.id}`,
    webhookId: Number(r.webhook_id),
    deliveryId: String(r.delivery_id),
    eventId: r.event_id,
    eventType: r.event_type,
    channel: r.channel,
    userId: r.user_id,
    status: r.status,
    providerId: r.provider_id,
    errorCode: r.error_code,
    occurredAt: new Date(r.occurred_at).toISOString(),
  }));
}

/** Forgets which key sent events older than `days`: their deliveries have long settled. */
export async function forgetEventSources(pool: pg.Pool, days: number): Promise<number> {
  const { rowCount } = await pool.query(`DELETE FROM event_sources WHERE created_at < now() - $1 * interval '1 day'`, [
    days,
  ]);
  return rowCount ?? 0;
}
