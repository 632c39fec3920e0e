import type pg from 'pg';
import { createBatchLoader } from '../db/batch-loader.js';
import type { Channel } from '../events/index.js';
import { redactProviderText } from '../util/redact.js';
import { openOptional, sealOptional, type FieldCipher } from '../util/field-cipher.js';
import { idempotencyKeyOf, type DeliveryKey } from './delivery-key.js';
import { createLeases } from './delivery-lease.js';

export { idempotencyKeyOf, type Claim, type DeliveryKey };
import {
  claimMany,
  markSentMany,
  type Claim,
  markSkippedMany,
  updateStatusMany,
  type ClaimRequest,
  type ProviderStatus,
  type SentRow,
  type SkippedRow,
  type StatusUpdate,
} from './deliveries.batches.js';

/** A message held for quiet hours, rendered and addressed. */
export interface HeldMessage {
  recipient: string;
  subject?: string;
  body: string;
  deliverAfter: Date;
}

export interface DueDelivery {
  id: string;
  attempt: number;
  recovered: boolean;
  triedBefore: boolean;
  firstClaimedAt: Date;
  key: DeliveryKey;
  recipient: string | null;
  subject: string | null;
  body: string | null;
}

export interface DeliveryRecord {
  idempotencyKey: string;
  status: string;
  channel: Channel;
  userId: string;
  eventId: string;
  recipient: string | null;
  subject: string | null;
  body: string | null;
  providerId: string | null;
  attempts: number;
  errorCode: string | null;
  errorMessage: string | null;
}

/** A message's address, subject and body as the ledger stores them: sealed, each bound to its column. */
export function sealMessage(
  cipher: FieldCipher,
  message: { recipient: string | null; subject?: string | null; body: string | null },
): { recipient: string | null; subject: string | null; body: string | null } {
  return {
    recipient: sealOptional(cipher, message.recipient, 'deliveries.recipient'),
    subject: sealOptional(cipher, message.subject, 'deliveries.subject'),
    body: sealOptional(cipher, message.body, 'deliveries.body'),
  };
}

/** The ledger's address, subject and body opened (null where erasure blanked them). */
export function openMessage<T extends { recipient: string | null; subject: string | null; body: string | null }>(
  cipher: FieldCipher,
  row: T,
): T {
  return {
    ...row,
    recipient: openOptional(cipher, row.recipient, 'deliveries.recipient'),
    subject: openOptional(cipher, row.subject, 'deliveries.subject'),
    body: openOptional(cipher, row.body, 'deliveries.body'),
  };
}

/**
 * The delivery ledger. A delivery is claimed (a row in 'sending' with a lease) before the provider is called; a second
 * claim of the same key succeeds only when the first one's lease ran out (its process died mid-send) or it released
 * the claim after a transient failure. Every outcome is also appended to delivery_attempts. Addresses, subjects and
 * bodies are sealed on the way in and opened on the way out.
 */
export function createDeliveriesRepository(
  pool: pg.Pool,
  { cipher, leaseMs = 60_000 }: { cipher: FieldCipher; leaseMs?: number },
) {
  async function attempt(
    id: string,
    status: string,
    fields: { providerId?: string; code?: string; message?: string } = {},
    { redact = true } = {},
  ) {
    await pool.query(
      `INSERT INTO delivery_attempts (delivery_id, attempt, status, provider_id, error_code, error_message)
       SELECT id, attempts, $2, $3, $4, $5 FROM deliveries WHERE id = $1`,
      [
        id,
        status,
        fields.providerId ?? null,
        fields.code ?? null,
        fields.message === undefined ? null : redact ? redactProviderText(fields.message) : fields.message,
      ],
    );
  }

  const leases = createLeases(pool, leaseMs);
  // Deliveries in flight together claim and record in one statement each (see createBatchLoader).
  const claimOne = createBatchLoader((claims: readonly ClaimRequest[]) => claimMany(pool, claims, leaseMs));
  const markSentOne = createBatchLoader((sent: readonly SentRow[]) => markSentMany(pool, sent));
  const markSkippedOne = createBatchLoader((skipped: readonly SkippedRow[]) => markSkippedMany(pool, skipped));
  // Every SMS brings two or three status callbacks: they cost as much as the sends themselves unless batched too.
  const updateStatusOne = createBatchLoader((updates: readonly StatusUpdate[]) => updateStatusMany(pool, updates));

  return {
    /**
     * Takes the delivery for this process. Refused when it is settled (`heldUntil` absent), or while another process
     * holds it (`heldUntil`: its lease, after which the delivery must be looked at again — that process may have died).
     * An operator's replay may also take one that failed for good (the cause is fixed); one that was sent, never.
     */
    claim(key: DeliveryKey, { replay = false } = {}): Promise<Claim> {
      return claimOne({ key, replay });
    },

    /**
     * The provider has the message. One statement (the outcome and its attempt row together), because until it is
     * committed a crash would leave the claim to be taken over: the shorter this is, the shorter the duplicate window.
     */
    markSent(
      id: string,
      result: { providerId: string; status: string; recipient: string; subject?: string; body: string },
    ): Promise<void> {
      return markSentOne({ id, ...result, ...sealMessage(cipher, result) });
    },

    /**
     * A failed send: the claim is released at once, so the retry (of this or another process) can take it. A
     * permanent failure is released too (`attempt` 'failed') until its dead letter is written, then marked.
     */
    async release(
      id: string,
      error: { code: string; message: string },
      attemptStatus: 'retrying' | 'failed' = 'retrying',
    ) {
      await pool.query(
        `UPDATE deliveries SET lease_until = now() - interval '1 millisecond', error_code = $2, error_message = $3, updated_at = now() WHERE id = $1`,
        [id, error.code, redactProviderText(error.message)],
      );
      await attempt(id, attemptStatus, error);
    },

    /**
     * A claim given back unsent because its consumer hands its records on: not an attempt (none is recorded, and the
     * count goes back), and marked so that the next owner's claim sends without asking the provider first.
     */
    async handBack(id: string) {
      await pool.query(
        `UPDATE deliveries SET lease_until = now() - interval '1 millisecond', attempts = attempts - 1,
           error_code = 'SEND_HANDED_OVER', error_message = NULL, updated_at = now() WHERE id = $1 AND status = 'sending'`,
        [id],
      );
    },

    /** Settled without a send: never tried again unless an operator replays it ('skipped' is never replayed). */
    async markFailed(
      id: string,
      error: { code: string; message: string },
      status: 'failed' | 'dead_lettered' | 'skipped' = 'dead_lettered',
    ) {
      await pool.query(
        `UPDATE deliveries SET status = $4, lease_until = NULL, deliver_after = NULL, error_code = $2, error_message = $3,
           updated_at = now() WHERE id = $1`,
        [id, error.code, redactProviderText(error.message), status],
      );
      await attempt(id, status, error);
    },

    /**
     * A claimed delivery found no longer wanted just before its send (expired, superseded, skipped): settled unsent,
     * never tried again. The reason is the gateway's own words, naming no one: kept as it is, unlike a provider's.
     */
    async withdraw(id: string, why: { status: 'expired' | 'superseded' | 'skipped'; code: string; message: string }) {
      await pool.query(
        `UPDATE deliveries SET status = $2, lease_until = NULL, deliver_after = NULL, error_code = $3, error_message = $4,
           updated_at = now() WHERE id = $1`,
        [id, why.status, why.code, why.message],
      );
      await attempt(id, why.status, why, { redact: false });
    },

    /**
     * Holds a rendered message until `deliverAfter` (quiet hours). Takes the key like a claim: a redelivered record
     * finds it taken and sends nothing. Returns false when the key was already taken (then the caller claims it and,
     * if that succeeds, holds it with `deferClaimed`).
     */
    async defer(key: DeliveryKey, message: HeldMessage): Promise<boolean> {
      const sealed = sealMessage(cipher, message);
      const { rowCount } = await pool.query(
        `INSERT INTO deliveries (idempotency_key, event_id, event_type, channel, user_id, status, recipient, subject, body, deliver_after)
         VALUES ($1, $2, $3, $4, $5, 'deferred', $6, $7, $8, $9) ON CONFLICT (idempotency_key) DO NOTHING`,
        [
          idempotencyKeyOf(key),
          key.eventId,
          key.eventType,
          key.channel,
          key.userId,
          sealed.recipient,
          sealed.subject,
          sealed.body,
          message.deliverAfter,
        ],
      );
      return rowCount === 1;
    },

    /**
     * Holds a claimed delivery until `deliverAfter`: a retry that lands in the person's quiet hours. Its error code
     * stays, so the deferred sender knows an earlier attempt may have reached the provider and asks first.
     */
    async deferClaimed(id: string, message: HeldMessage): Promise<void> {
      const sealed = sealMessage(cipher, message);
      await pool.query(
        `UPDATE deliveries SET status = 'deferred', recipient = $2, subject = $3, body = $4, deliver_after = $5, lease_until = NULL,
           error_code = COALESCE(error_code, CASE WHEN attempts > 1 THEN 'TAKEN_OVER' END), updated_at = now() WHERE id = $1`,
        [id, sealed.recipient, sealed.subject, sealed.body, message.deliverAfter],
      );
    },

    /** Runs a look-up and a send while keeping the claim, with a fence before the send (see createLeases). */
    holdWhile: leases.holdWhile,

    /** Of these channels, those with a held delivery due, or one whose sender died while sending it (see claimDue). */
    async channelsDue(channels: readonly Channel[]): Promise<Channel[]> {
      const { rows } = await pool.query<{ channel: Channel }>(
        `SELECT DISTINCT channel FROM deliveries
          WHERE deliver_after <= now() AND channel = ANY($1::text[])
            AND (status = 'deferred' OR (status = 'sending' AND lease_until < now()))`,
        [channels],
      );
      return rows.map((r) => r.channel);
    },

    /**
     * Claims deferred deliveries that are due, oldest first; SKIP LOCKED lets several workers share them without
     * taking the same one twice. Each comes back in 'sending' with a lease of its own, like any claim: callers take
     * as many as they send at once, so none waits out its lease behind the others. A deferred delivery whose sender
     * died mid-send (still 'sending' after its lease) is taken again, `recovered`: it may have gone out. `triedBefore`:
     * an earlier attempt reached for the provider (recovered, or it failed and waited again), so the provider is
     * asked before sending.
     */
    async claimDue(channel: Channel, limit = 1): Promise<DueDelivery[]> {
      const { rows } = await pool.query(
        `UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1, lease_until = now() + $3 * interval '1 millisecond', updated_at = now()
           FROM (SELECT id, status, error_code FROM deliveries
                  WHERE channel = $1 AND deliver_after <= now()
                    AND (status = 'deferred' OR (status = 'sending' AND lease_until < now()))
                  ORDER BY deliver_after LIMIT $2 FOR UPDATE SKIP LOCKED) due
          WHERE d.id = due.id
          RETURNING d.id, d.attempts, due.status = 'sending' AS recovered, due.status = 'sending' OR due.error_code IS NOT NULL AS tried_before,
                    d.created_at, d.event_id, d.event_type, d.channel, d.user_id, d.recipient, d.subject, d.body`,
        [channel, limit, leaseMs],
      );
      return rows.map((r) =>
        openMessage(cipher, {
          id: r.id,
          attempt: r.attempts,
          recovered: r.recovered,
          triedBefore: r.tried_before,
          firstClaimedAt: r.created_at,
          recipient: r.recipient,
          subject: r.subject,
          body: r.body,
          key: { eventId: r.event_id, eventType: r.event_type, channel: r.channel, userId: r.user_id },
        }),
      );
    },

    /**
     * A deferred send that failed for now goes back to wait, a little later. Given the claim's `attempt`, only while
     * that claim is still the row's: one taken over meanwhile is its new holder's to settle.
     */
    async redefer(id: string, deliverAfter: Date, error: { code: string; message: string }, claimAttempt?: number) {
      const { rowCount } = await pool.query(
        `UPDATE deliveries SET status = 'deferred', deliver_after = $2, lease_until = NULL, error_code = $3, error_message = $4, updated_at = now()
          WHERE id = $1 AND ($5::int IS NULL OR attempts = $5)`,
        [id, deliverAfter, error.code, redactProviderText(error.message), claimAttempt ?? null],
      );
      if (rowCount === 1) await attempt(id, 'retrying', error);
    },

    /**
     * A provider's later word on a message (Twilio status callbacks). Callbacks can arrive out of order, so a status
     * only ever moves forward: a late 'sent' never overwrites 'delivered'. Returns false for an unknown message.
     */
    updateProviderStatus(providerId: string, status: ProviderStatus, errorCode?: string): Promise<boolean> {
      return updateStatusOne({ providerId, status, ...(errorCode && { errorCode }) });
    },

    /** Whether some SMS or WhatsApp claim has been handed to the provider (or is being) and has no sid on record yet. */
    async sendsAwaitingSid(): Promise<boolean> {
      const { rows } = await pool.query(
        `SELECT 1 FROM deliveries WHERE status = 'sending' AND channel IN ('sms', 'whatsapp') AND provider_id IS NULL LIMIT 1`,
      );
      return rows.length > 0;
    },

    /**
     * The notice is no use any more, and is never sent: 'expired' (its journey began) or 'superseded' (a newer notice
     * replaced it). A row an earlier attempt left (released after a failure, or held for quiet hours) is settled so
     * too; one that was sent, or that another process holds, is not.
     */
    async markUnsent(key: DeliveryKey, why: { status: 'expired' | 'superseded'; message: string }): Promise<void> {
      await pool.query(
        `INSERT INTO deliveries (idempotency_key, event_id, event_type, channel, user_id, status, error_code, error_message)
         VALUES ($1, $2, $3, $4, $5, $6, upper($6), $7)
         ON CONFLICT (idempotency_key) DO UPDATE SET status = EXCLUDED.status, error_code = EXCLUDED.error_code,
           error_message = EXCLUDED.error_message, lease_until = NULL, updated_at = now()
         WHERE deliveries.status IN ('failed', 'deferred')
            OR (deliveries.status = 'sending' AND deliveries.lease_until < now())`,
        [idempotencyKeyOf(key), key.eventId, key.eventType, key.channel, key.userId, why.status, why.message],
      );
    },

    /**
     * Recorded once per key: the person chose not to get this, or cannot be reached on this channel. A row an earlier
     * attempt left unsettled (a retry that now decides not to send) is settled so too, never left 'sending'.
     */
    markSkipped(key: DeliveryKey, reason: { code: string; message: string }): Promise<void> {
      return markSkippedOne({ key, ...reason });
    },

    async find(filter: { eventId?: string; userId?: string; channel?: Channel }): Promise<DeliveryRecord[]> {
      const { rows } = await pool.query<DeliveryRecord>(
        `SELECT idempotency_key AS "idempotencyKey", status, channel, user_id AS "userId", event_id AS "eventId", recipient,
                subject, body, provider_id AS "providerId", attempts, error_code AS "errorCode", error_message AS "errorMessage"
           FROM deliveries WHERE ($1::uuid IS NULL OR event_id = $1) AND ($2::text IS NULL OR user_id = $2)
            AND ($3::text IS NULL OR channel = $3) ORDER BY id`,
        [filter.eventId ?? null, filter.userId ?? null, filter.channel ?? null],
      );
      return rows.map((row) => openMessage(cipher, row));
    },
  };
}

export type DeliveriesRepository = ReturnType<typeof createDeliveriesRepository>;
