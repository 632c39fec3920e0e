import type pg from 'pg';
import { idempotencyKeyOf, type DeliveryKey } from './delivery-key.js';

/**
 * The ledger's hot statements in their batched form, one statement for many deliveries (the repository gathers the
 * calls). Each returns one result per request, in the order asked.
 */

/** The answer to a claim: the delivery is this process's now, or it is not (settled, or held by another). */
export type Claim =
  /**
   * `recovered`: taken over from a process that died holding it, which may already have sent it. `firstClaimedAt`:
   * when the delivery was first taken, the earliest any copy of it can have reached the provider.
   */
  | { claimed: true; id: string; attempt: number; recovered: boolean; firstClaimedAt: Date }
  | { claimed: false; heldUntil?: Date };

export interface ClaimRequest {
  key: DeliveryKey;
  replay: boolean;
}

// As a single claim: a new key is inserted in 'sending' with a lease; an existing one is taken only when its holder's
// lease ran out (it died) or, for an operator's replay, when it failed for good. Rows are locked in key order, so two
// workers claiming overlapping pages cannot deadlock.
const CLAIM_MANY = `
  INSERT INTO deliveries (idempotency_key, event_id, event_type, channel, user_id, status, attempts, lease_until)
  SELECT k, e, t, c, u, 'sending', 1, now() + $6 * interval '1 millisecond'
    FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[]) AS v(k, e, t, c, u) ORDER BY k
  ON CONFLICT (idempotency_key) DO UPDATE SET attempts = deliveries.attempts + 1, status = 'sending',
    lease_until = EXCLUDED.lease_until, updated_at = now(),
    -- A 'sending' row whose lease ran out without a release (release records an error code) was held by a
    -- process that died: perhaps after the provider took the message. The taker is told, to ask the provider.
    error_code = CASE WHEN deliveries.status = 'sending' AND (deliveries.error_code IS NULL OR deliveries.error_code = 'TAKEN_OVER')
                      THEN 'TAKEN_OVER' END
    WHERE (deliveries.status = 'sending' AND deliveries.lease_until < now())
       OR (deliveries.idempotency_key = ANY($7::text[]) AND deliveries.status IN ('dead_lettered', 'failed'))
  RETURNING idempotency_key, id, attempts, error_code = 'TAKEN_OVER' AS recovered, created_at`;

const HELD = `SELECT idempotency_key, lease_until FROM deliveries
  WHERE idempotency_key = ANY($1::text[]) AND status = 'sending' AND lease_until >= now()`;

export async function claimMany(pool: pg.Pool, requests: readonly ClaimRequest[], leaseMs: number): Promise<Claim[]> {
  const keys = requests.map((r) => idempotencyKeyOf(r.key));
  // One statement may not touch a row twice: a key asked for twice at once is claimed once, the other caller finds it held.
  const unique = [...new Map(requests.map((r, i) => [keys[i]!, r])).entries()];
  const { rows } = await pool.query<{
    idempotency_key: string;
    id: string;
    attempts: number;
    recovered: boolean | null;
    created_at: Date;
  }>(CLAIM_MANY, [
    unique.map(([k]) => k),
    unique.map(([, r]) => r.key.eventId),
    unique.map(([, r]) => r.key.eventType),
    unique.map(([, r]) => r.key.channel),
    unique.map(([, r]) => r.key.userId),
    leaseMs,
    unique.filter(([, r]) => r.replay).map(([k]) => k),
  ]);
  const won = new Map(rows.map((row) => [row.idempotency_key, row]));
  const refused = keys.filter((k) => !won.has(k));
  const held = refused.length
    ? new Map(
        (await pool.query<{ idempotency_key: string; lease_until: Date }>(HELD, [refused])).rows.map((r) => [
          r.idempotency_key,
          r.lease_until,
        ]),
      )
    : new Map<string, Date>();
  return keys.map((key) => {
    const row = won.get(key);
    if (row) {
      won.delete(key); // the first caller of a duplicated key gets the claim, the next finds it held
      return {
        claimed: true,
        id: row.id,
        attempt: row.attempts,
        recovered: row.recovered === true,
        firstClaimedAt: row.created_at,
      };
    }
    const until =
      held.get(key) ?? (rows.some((r) => r.idempotency_key === key) ? new Date(Date.now() + leaseMs) : undefined);
    return until ? { claimed: false, heldUntil: until } : { claimed: false };
  });
}

/** A send's outcome; the address, subject and body already sealed (see sealMessage). */
export interface SentRow {
  id: string;
  providerId: string;
  status: string;
  recipient: string | null;
  subject?: string | null;
  body: string | null;
}

// The delivery row is the record of a success (its status, provider id and time): no attempt row is written for it,
// only for what went wrong or was withheld (see the history's `tries`). An SMS or WhatsApp message the provider has
// not yet finished with is listed as unsettled until its final word (see migration 0022); a delivery held for quiet
// hours leaves the held index.
const MARK_SENT_MANY = `
  WITH sent AS (
    UPDATE deliveries d SET status = v.status, provider_id = v.provider_id, recipient = v.recipient,
      subject = v.subject, body = v.body, lease_until = NULL, deliver_after = NULL, error_code = NULL,
      error_message = NULL, updated_at = now()
      FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS v(id, status, provider_id, recipient, subject, body)
     WHERE d.id = v.id
    RETURNING d.id, d.channel, d.status)
  INSERT INTO unsettled_sends (delivery_id)
  SELECT id FROM sent WHERE channel IN ('sms', 'whatsapp') AND status IN ('queued', 'sent')
  ON CONFLICT (delivery_id) DO NOTHING`;

export async function markSentMany(pool: pg.Pool, sent: readonly SentRow[]): Promise<void[]> {
  await pool.query(MARK_SENT_MANY, [
    sent.map((s) => s.id),
    sent.map((s) => s.status),
    sent.map((s) => s.providerId),
    sent.map((s) => s.recipient),
    sent.map((s) => s.subject ?? null),
    sent.map((s) => s.body),
  ]);
  return sent.map(() => undefined);
}

export interface SkippedRow {
  key: DeliveryKey;
  code: string;
  message: string;
}

// A row an earlier attempt left unsettled (released after a failure, a holder that died, held for quiet hours) is
// settled skipped too: left alone, a retry that decides not to send would leave it 'sending' for ever. One that was
// sent or settled, or that another process holds, is not touched.
const MARK_SKIPPED_MANY = `
  INSERT INTO deliveries (idempotency_key, event_id, event_type, channel, user_id, status, error_code, error_message)
  SELECT k, e, t, c, u, 'skipped', code, message
    FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS v(k, e, t, c, u, code, message)
   ORDER BY k
  ON CONFLICT (idempotency_key) DO UPDATE SET status = 'skipped', error_code = EXCLUDED.error_code,
    error_message = EXCLUDED.error_message, lease_until = NULL, deliver_after = NULL, updated_at = now()
   WHERE deliveries.status IN ('failed', 'deferred')
      OR (deliveries.status = 'sending' AND deliveries.lease_until < now())`;

export async function markSkippedMany(pool: pg.Pool, requests: readonly SkippedRow[]): Promise<void[]> {
  // One statement may not touch a row twice: a key skipped twice at once is written once.
  const skipped = [...new Map(requests.map((r) => [idempotencyKeyOf(r.key), r])).values()];
  await pool.query(MARK_SKIPPED_MANY, [
    skipped.map((s) => idempotencyKeyOf(s.key)),
    skipped.map((s) => s.key.eventId),
    skipped.map((s) => s.key.eventType),
    skipped.map((s) => s.key.channel),
    skipped.map((s) => s.key.userId),
    skipped.map((s) => s.code),
    skipped.map((s) => s.message),
  ]);
  return requests.map(() => undefined);
}

export type ProviderStatus = 'queued' | 'sent' | 'delivered' | 'undelivered' | 'failed';

export interface StatusUpdate {
  providerId: string;
  status: ProviderStatus;
  errorCode?: string;
}

// Callbacks arrive out of order, so a status only ever moves forward: a late 'sent' never overwrites 'delivered'.
// `known`: the provider id is in the ledger at all (a callback for another system's message is acknowledged too; a
// row the update moved is one the statement's snapshot sees). The row itself holds the provider's word (status and
// error code): no attempt row is written for it, and no index names those columns, so the update is in place. The
// final word takes the message off the unsettled list.
const UPDATE_STATUS_MANY = `
  WITH v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS v(provider_id, status, error_code, n)),
  moved AS (
    UPDATE deliveries d SET status = v.status, error_code = COALESCE(v.error_code, d.error_code), updated_at = now()
      FROM v WHERE d.provider_id = v.provider_id
       AND array_position(ARRAY['sending','queued','sent','delivered','undelivered','failed'], d.status)
         < array_position(ARRAY['sending','queued','sent','delivered','undelivered','failed'], v.status)
    RETURNING d.id, d.status),
  settled AS (
    DELETE FROM unsettled_sends u USING moved m
     WHERE u.delivery_id = m.id AND m.status IN ('delivered', 'undelivered', 'failed'))
  SELECT v.provider_id, EXISTS (SELECT 1 FROM deliveries d WHERE d.provider_id = v.provider_id) AS known
    FROM v ORDER BY v.n`;

export async function updateStatusMany(pool: pg.Pool, updates: readonly StatusUpdate[]): Promise<boolean[]> {
  // One statement updates a row once: a message's second callback in the same batch goes in the next statement.
  const rounds: StatusUpdate[][] = [];
  const seen = new Map<string, number>();
  for (const update of updates) {
    const round = seen.get(update.providerId) ?? 0;
    seen.set(update.providerId, round + 1);
    (rounds[round] ??= []).push(update);
  }
  const known = new Map<StatusUpdate, boolean>();
  for (const round of rounds) {
    const { rows } = await pool.query<{ known: boolean }>(UPDATE_STATUS_MANY, [
      round.map((u) => u.providerId),
      round.map((u) => u.status),
      round.map((u) => u.errorCode ?? null),
    ]);
    round.forEach((update, i) => known.set(update, rows[i]!.known));
  }
  return updates.map((update) => known.get(update)!);
}
