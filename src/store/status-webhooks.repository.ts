import type pg from 'pg';
import type { FieldCipher } from '../util/field-cipher.js';

/** The statuses a webhook can hear of; the ledger's own are mapped to these (migration 0013). */
export const REPORTED_STATUSES = ['sent', 'delivered', 'failed', 'dead_lettered'] as const;
export type ReportedStatus = (typeof REPORTED_STATUSES)[number];

/** A registered webhook as an operator sees it: never its secret, which is shown once, when it is made. */
export interface StatusWebhook {
  id: number;
  apiKey: string;
  url: string;
  statuses: ReportedStatus[];
  createdAt: string;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastError: string | null;
  consecutiveFailures: number;
}

/** The flight or train (and date, when given) a disruption is about. */
export interface DisruptedVehicle {
  kind: 'flight' | 'train';
  number: string;
  journeyDate?: string;
}

const iso = (value: Date | null) => (value ? new Date(value).toISOString() : null);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- pg rows are untyped; each column gets its type here
const toWebhook = (row: any): StatusWebhook => ({
  id: Number(row.id),
  apiKey: row.key_hint,
  url: row.url,
  statuses: row.statuses,
  createdAt: iso(row.created_at)!,
  lastSuccessAt: iso(row.last_success_at),
  lastFailureAt: iso(row.last_failure_at),
  lastError: row.last_error,
  consecutiveFailures: row.consecutive_failures,
});

/** The column's name, bound into each sealed secret: a value copied into another column does not open. */
const SECRET_COLUMN = 'status_webhooks.secret';

/**
 * Registered status webhooks, and which API key sent which event (for the keys that have one). Signing secrets are
 * sealed at rest with the data keys; one read that was sealed with an older key (or before sealing) is sealed again
 * with the current one, so a rotation reaches every webhook that is still posted to.
 */
export function createStatusWebhooksRepository(pool: pg.Pool, cipher: FieldCipher) {
  return {
    async create(webhook: {
      keyDigest: string;
      keyHint: string;
      url: string;
      secret: string;
      statuses: readonly ReportedStatus[];
    }): Promise<StatusWebhook> {
      const { rows } = await pool.query(
        `INSERT INTO status_webhooks (key_digest, key_hint, url, secret, statuses) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
        [webhook.keyDigest, webhook.keyHint, webhook.url, cipher.seal(webhook.secret, SECRET_COLUMN), webhook.statuses],
      );
      return toWebhook(rows[0]);
    },

    async list(): Promise<StatusWebhook[]> {
      const { rows } = await pool.query('SELECT * FROM status_webhooks ORDER BY id');
      return rows.map(toWebhook);
    },

    async get(id: number): Promise<StatusWebhook | undefined> {
      const { rows } = await pool.query('SELECT * FROM status_webhooks WHERE id = $1', [id]);
      return rows[0] ? toWebhook(rows[0]) : undefined;
    },

    /** Removes it and every notice not yet handed on; notices already queued find it gone and are dropped. */
    async remove(id: number): Promise<boolean> {
      const { rowCount } = await pool.query('DELETE FROM status_webhooks WHERE id = $1', [id]);
      return rowCount === 1;
    },

    /** The digests of the keys that have a webhook. */
    async keysWithWebhooks(): Promise<Set<string>> {
      const { rows } = await pool.query<{ key_digest: string }>('SELECT DISTINCT key_digest FROM status_webhooks');
      return new Set(rows.map((r) => r.key_digest));
    },

    /**
     * Notes that `keyDigest` sent the event, so its deliveries' status changes reach the key's webhooks; for a
     * disruption, with the vehicle it is about (its notices report only the key's own travellers on it, 0014).
     */
    async recordSource(eventId: string, keyDigest: string, vehicle?: DisruptedVehicle): Promise<void> {
      await pool.query(
        `INSERT INTO event_sources (event_id, key_digest, vehicle_kind, vehicle_number, journey_date)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING`,
        [eventId, keyDigest, vehicle?.kind ?? null, vehicle?.number ?? null, vehicle?.journeyDate ?? null],
      );
    },

    /** Where a notice goes and the secret it is signed with; undefined once the webhook was removed. */
    async target(id: number): Promise<{ url: string; secret: string } | undefined> {
      const { rows } = await pool.query<{ url: string; secret: string }>(
        'SELECT url, secret FROM status_webhooks WHERE id = $1',
        [id],
      );
      const row = rows[0];
      if (!row) return undefined;
      const secret = cipher.open(row.secret, SECRET_COLUMN);
      if (cipher.stale(row.secret)) {
        // Only if nobody changed it meanwhile; another worker doing the same at once is harmless.
        await pool.query('UPDATE status_webhooks SET secret = $2 WHERE id = $1 AND secret = $3', [
          id,
          cipher.seal(secret, SECRET_COLUMN),
          row.secret,
        ]);
      }
      return { url: row.url, secret };
    },

    async recordAttempt(id: number, error?: string): Promise<void> {
      await pool.query(
        error === undefined
          ? 'UPDATE status_webhooks SET last_success_at = now(), consecutive_failures = 0 WHERE id = $1'
          : `UPDATE status_webhooks SET last_failure_at = now(), last_error = $2,
               consecutive_failures = consecutive_failures + 1 WHERE id = $1`,
        error === undefined ? [id] : [id, error.slice(0, 500)],
      );
    },
  };
}

export type StatusWebhooksRepository = ReturnType<typeof createStatusWebhooksRepository>;
