import type pg from 'pg';
import { storableJson, storableText } from '../db/storable.js';
import { pageOf } from './cursor.js';
import type { Channel, EventType } from '../events/index.js';
import { openJson, sealJson, type FieldCipher } from '../util/field-cipher.js';

/** The held record is sealed: the jsonb column holds one string, the sealed text of the record's JSON. */
const PAYLOAD_COLUMN = 'dead_letters.payload';

export const DEAD_LETTER_STATUSES = ['pending', 'replayed', 'discarded'] as const;
export type DeadLetterStatus = (typeof DEAD_LETTER_STATUSES)[number];

/** A dead letter to index, as the writer knows it once the record is safely on the DLQ topic. */
export interface NewDeadLetter {
  channel: Channel;
  /** Kept only when it is a uuid: the column is one, and a poison record's eventId may be anything. */
  eventId?: string;
  eventType?: string;
  userId?: string;
  idempotencyKey?: string;
  original: { topic: string; partition: number; offset: string; key: string | null; ingestedAt?: Date };
  consumerGroup: string;
  attempts: number;
  firstFailedAt: Date;
  lastFailedAt: Date;
  errorClass: 'permanent' | 'exhausted';
  errorCode: string;
  /** Already redacted and cut by the writer. */
  errorMessage: string;
  /** The record as read (JSON, or `{ unparsed }`); null when it had no value. */
  payload: unknown;
}

const INSERT_DEAD_LETTER = `
  INSERT INTO dead_letters (channel, event_id, event_type, user_id, idempotency_key, original_topic, original_partition,
    original_offset, original_key, consumer_group, attempts, first_failed_at, last_failed_at, error_class, error_code,
    error_message, payload, original_ingested_at, event_user_id)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`;

/** The userId the record names, kept in the clear so that erasure finds a poison booking of the person's. */
const userIdNamedBy = (payload: unknown): string | undefined => {
  const userId = (payload as { userId?: unknown } | null)?.userId;
  return typeof userId === 'string' ? userId : undefined;
};

const isUuid = (value: string | undefined) =>
  !!value && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);

/** The consumers' side of `dead_letters`: one row per record dead-lettered, for the admin API to find. */
export function createDeadLettersRepository(pool: pg.Pool, cipher: FieldCipher) {
  return {
    async insert(entry: NewDeadLetter): Promise<void> {
      // A poison record may carry anything (a NUL in its key or its text): the entry must go in all the same.
      await pool.query(INSERT_DEAD_LETTER, [
        entry.channel,
        isUuid(entry.eventId) ? entry.eventId : null,
        storableText(entry.eventType),
        storableText(entry.userId),
        storableText(entry.idempotencyKey),
        entry.original.topic,
        entry.original.partition,
        entry.original.offset,
        storableText(entry.original.key),
        entry.consumerGroup,
        entry.attempts,
        entry.firstFailedAt,
        entry.lastFailedAt,
        entry.errorClass,
        storableText(entry.errorCode),
        storableText(entry.errorMessage),
        entry.payload === null ? null : sealJson(cipher, storableJson(entry.payload), PAYLOAD_COLUMN),
        entry.original.ingestedAt ?? null,
        storableText(userIdNamedBy(entry.payload)),
      ]);
    },
  };
}

/** Which entries an operator means; every field narrows, none means all. */
export interface DeadLetterFilter {
  channel?: Channel;
  eventType?: EventType;
  errorCode?: string;
  status?: DeadLetterStatus;
}

/** A `dead_letters` row as the admin API shows it. */
export interface DeadLetterEntry {
  id: number;
  channel: Channel;
  eventId: string | null;
  eventType: string | null;
  userId: string | null;
  idempotencyKey: string | null;
  /** Where the record came from; `ingestedAt`: when the gateway first took it in (null on entries from before it was kept). */
  original: {
    topic: string;
    partition: number | null;
    offset: string | null;
    key: string | null;
    ingestedAt: Date | null;
  };
  consumerGroup: string | null;
  attempts: number;
  firstFailedAt: Date;
  lastFailedAt: Date;
  errorClass: string;
  errorCode: string | null;
  errorMessage: string | null;
  /** The record as it was dead-lettered: the event, `{ unparsed }` for a record that was not JSON, `{ erased }` after erasure. */
  payload: unknown;
  status: DeadLetterStatus;
  replayedAt: Date | null;
  replayResult: string | null;
  createdAt: Date;
}

export interface AuditEntry {
  deadLetterId?: number;
  action: 'replay' | 'replay_dry_run' | 'delete';
  actor: string;
  filter?: DeadLetterFilter;
  result: string;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

const COLUMNS = `id, channel, event_id, event_type, user_id, idempotency_key, original_topic, original_partition, original_offset,
  original_key, original_ingested_at, consumer_group, attempts, first_failed_at, last_failed_at, error_class, error_code, error_message, payload, status,
  replayed_at, replay_result, created_at`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- pg rows are untyped; toEntry below gives each column its type
type Row = Record<string, any>;

const toEntry = (cipher: FieldCipher, row: Row): DeadLetterEntry => ({
  id: Number(row.id),
  channel: row.channel,
  eventId: row.event_id,
  eventType: row.event_type,
  userId: row.user_id,
  idempotencyKey: row.idempotency_key,
  original: {
    topic: row.original_topic,
    partition: row.original_partition,
    offset: row.original_offset,
    key: row.original_key,
    ingestedAt: row.original_ingested_at,
  },
  consumerGroup: row.consumer_group,
  attempts: row.attempts,
  firstFailedAt: row.first_failed_at,
  lastFailedAt: row.last_failed_at,
  errorClass: row.error_class,
  errorCode: row.error_code,
  errorMessage: row.error_message,
  payload: openJson(cipher, row.payload, PAYLOAD_COLUMN),
  status: row.status,
  replayedAt: row.replayed_at,
  replayResult: row.replay_result,
  createdAt: row.created_at,
});

/** `WHERE` conditions for a filter, numbered from `$1`. */
function where(filter: DeadLetterFilter): { sql: string[]; values: unknown[] } {
  const sql: string[] = [];
  const values: unknown[] = [];
  const add = (column: string, value: unknown) => {
    if (value === undefined) return;
    values.push(value);
    sql.push(`${column} = $${values.length}`);
  };
  add('channel', filter.channel);
  add('event_type', filter.eventType);
  add('error_code', filter.errorCode);
  add('status', filter.status);
  return { sql, values };
}

/** Only entries that still hold a record can be replayed: erasure leaves `{ erased: true }`, a null record holds nothing. */
const REPLAYABLE = `status <> 'discarded' AND payload IS NOT NULL AND NOT (jsonb_typeof(payload) = 'object' AND payload ? 'erased')`;

/**
 * The admin view of `dead_letters`. Deleting an entry marks it `discarded` rather than removing the row: the record
 * stays on the DLQ topic anyway, the row keeps the operator's statistics and the audit trail something to point at,
 * and a discarded entry is never replayed.
 */
export function createDeadLettersAdminRepository(pool: pg.Pool, cipher: FieldCipher) {
  const toEntryOpened = (row: Row) => toEntry(cipher, row);
  return {
    /** Newest first, `limit` at a time; `nextCursor` (for `after`) is null on the last page. */
    async list(
      filter: DeadLetterFilter,
      page: { limit?: number; after?: number } = {},
    ): Promise<{ items: DeadLetterEntry[]; nextCursor: string | null }> {
      const limit = page.limit ?? DEFAULT_PAGE_SIZE;
      const { sql, values } = where(filter);
      if (page.after !== undefined) {
        values.push(page.after);
        sql.push(`id < $${values.length}`);
      }
      values.push(limit + 1);
      const { rows } = await pool.query(
        `SELECT ${COLUMNS} FROM dead_letters ${sql.length ? `WHERE ${sql.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${values.length}`,
        values,
      );
      return pageOf(rows.map(toEntryOpened), limit);
    },

    async get(id: number): Promise<DeadLetterEntry | undefined> {
      const { rows } = await pool.query(`SELECT ${COLUMNS} FROM dead_letters WHERE id = $1`, [id]);
      return rows[0] ? toEntryOpened(rows[0]) : undefined;
    },

    /** How many replayable entries match, and the oldest `limit` of them (replayed in the order they failed). */
    async replayable(
      filter: DeadLetterFilter,
      limit: number,
    ): Promise<{ matched: number; entries: DeadLetterEntry[] }> {
      const { sql, values } = where(filter);
      const condition = [...sql, REPLAYABLE].join(' AND ');
      const {
        rows: [count],
      } = await pool.query(`SELECT count(*)::int AS n FROM dead_letters WHERE ${condition}`, values);
      if (limit === 0) return { matched: count.n, entries: [] };
      const { rows } = await pool.query(
        `SELECT ${COLUMNS} FROM dead_letters WHERE ${condition} ORDER BY id LIMIT $${values.length + 1}`,
        [...values, limit],
      );
      return { matched: count.n, entries: rows.map(toEntryOpened) };
    },

    async markReplayed(id: number, result: string, at: Date = new Date()): Promise<void> {
      await pool.query(
        `UPDATE dead_letters SET status = 'replayed', replayed_at = $2, replay_result = $3 WHERE id = $1`,
        [id, at, result],
      );
    },

    /** Marks the entry discarded; false when there is no such entry. */
    async discard(id: number): Promise<boolean> {
      const { rowCount } = await pool.query(`UPDATE dead_letters SET status = 'discarded' WHERE id = $1`, [id]);
      return rowCount === 1;
    },

    async audit(entry: AuditEntry): Promise<void> {
      await pool.query(
        `INSERT INTO dead_letter_audit (dead_letter_id, action, actor, filter, result) VALUES ($1, $2, $3, $4, $5)`,
        [
          entry.deadLetterId ?? null,
          entry.action,
          entry.actor,
          entry.filter ? JSON.stringify(entry.filter) : null,
          entry.result,
        ],
      );
    },
  };
}

export type DeadLettersAdminRepository = ReturnType<typeof createDeadLettersAdminRepository>;
