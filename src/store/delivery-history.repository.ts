import type pg from 'pg';
import type { Channel } from '../events/index.js';
import { pageOf } from './cursor.js';

/** One delivery as its history shows it: what went out, on which channel, how it ended, and when. */
export interface DeliveryRecord {
  id: number;
  eventId: string;
  eventType: string;
  channel: Channel;
  status: string;
  providerId: string | null;
  attempts: number;
  errorCode: string | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * Every try of one delivery: what `delivery_attempts` recorded (failures, retries, withdrawals), then, once the
 * provider took it, the outcome the delivery row holds (its status and provider id, updated by the provider's later
 * word), which has no attempt row of its own.
 */
export interface AttemptRecord {
  attempt: number;
  status: string;
  providerId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  at: string;
}

/** A delivery of one event as an operator reads it: to whom, and every try. */
export type EventDelivery = DeliveryRecord & { userId: string; tries: AttemptRecord[] };

const COLUMNS = `d.id, d.event_id, d.event_type, d.channel, d.status, d.provider_id, d.attempts, d.error_code,
  d.created_at, d.updated_at`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- pg rows are untyped; each column gets its type here
const toRecord = (row: any): DeliveryRecord => ({
  id: Number(row.id),
  eventId: row.event_id,
  eventType: row.event_type,
  channel: row.channel,
  status: row.status,
  providerId: row.provider_id,
  attempts: row.attempts,
  errorCode: row.error_code,
  createdAt: new Date(row.created_at).toISOString(),
  updatedAt: new Date(row.updated_at).toISOString(),
});

/** The try the provider took, as the delivery row holds it; none before a provider id is recorded. */
const taken = (record: DeliveryRecord): AttemptRecord[] =>
  record.providerId === null
    ? []
    : [
        {
          attempt: record.attempts,
          status: record.status,
          providerId: record.providerId,
          errorCode: record.errorCode,
          errorMessage: null,
          at: record.updatedAt,
        },
      ];

/** Reads the ledger for people and operators; the consumers write it (deliveries.repository.ts). */
export function createDeliveryHistoryRepository(pool: pg.Pool) {
  return {
    /** One person's deliveries, newest first, `limit` at a time below `before` (an id from the previous page). */
    async forUser(userId: string, { limit, before, channel }: { limit: number; before?: number; channel?: Channel }) {
      const { rows } = await pool.query(
        `SELECT ${COLUMNS} FROM deliveries d
          WHERE d.user_id = $1 AND ($2::bigint IS NULL OR d.id < $2) AND ($3::text IS NULL OR d.channel = $3)
          ORDER BY d.id DESC LIMIT $4`,
        [userId, before ?? null, channel ?? null, limit + 1],
      );
      return pageOf(rows.map(toRecord), limit);
    },

    /**
     * One event's deliveries, to everyone on every channel, each with its attempts: newest first, `limit` at a time
     * below `before` (an id from the previous page). A disruption to thousands has tens of thousands of them.
     */
    async forEvent(
      eventId: string,
      { limit, before }: { limit: number; before?: number },
    ): Promise<{ items: EventDelivery[]; nextCursor: string | null }> {
      const { rows } = await pool.query(
        `SELECT ${COLUMNS}, d.user_id, t.tries
           FROM deliveries d
           CROSS JOIN LATERAL (
             SELECT coalesce(json_agg(json_build_object('attempt', a.attempt, 'status', a.status,
                      'providerId', a.provider_id, 'errorCode', a.error_code, 'errorMessage', a.error_message,
                      'at', a.created_at) ORDER BY a.id), '[]') AS tries
               FROM delivery_attempts a WHERE a.delivery_id = d.id) t
          WHERE d.event_id = $1 AND ($2::bigint IS NULL OR d.id < $2)
          ORDER BY d.id DESC LIMIT $3`,
        [eventId, before ?? null, limit + 1],
      );
      const items = rows.map((row) => {
        const record = toRecord(row);
        const tries = (row.tries as AttemptRecord[]).map((t) => ({ ...t, at: new Date(t.at).toISOString() }));
        return { ...record, userId: row.user_id as string, tries: [...tries, ...taken(record)] };
      });
      return pageOf(items, limit);
    },
  };
}

export type DeliveryHistoryRepository = ReturnType<typeof createDeliveryHistoryRepository>;
