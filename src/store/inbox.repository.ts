import type pg from 'pg';
import { createBatchLoader } from '../db/batch-loader.js';
import { pageOf } from './cursor.js';
import { openJson, type FieldCipher } from '../util/field-cipher.js';

/** One row of the `inbox` table, as pg returns it (bigint ids come back as strings). */
export interface InboxRow {
  id: string | number;
  event_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  created_at: Date;
}

/** An inbox row with when it was read (null: unread), as the inbox API lists it. */
export type InboxStateRow = InboxRow & { read_at: Date | null };

/** An inbox row with the user it belongs to, for readers that list more than one user's alerts. */
export type UserInboxRow = InboxRow & { user_id: string };

/** An alert to keep in a user's inbox; `payload` is its JSON text. */
export interface InboxEntry {
  userId: string;
  eventId: string;
  eventType: string;
  payload: string;
}

// A redelivery meets the existing row; the no-op update makes RETURNING give it back, so it keeps its id.
const INSERT_INBOX = `
  INSERT INTO inbox (user_id, event_id, event_type, payload)
  SELECT u, e, t, p::jsonb FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[]) AS v(u, e, t, p) ORDER BY u, e
  ON CONFLICT (user_id, event_id) DO UPDATE SET user_id = EXCLUDED.user_id
  RETURNING id, user_id, event_id, event_type, payload, created_at`;

const AFTER_QUERY = `
  SELECT id, event_id, event_type, payload, created_at FROM inbox
  WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3`;

const LATEST_QUERY = `
  SELECT id, user_id, event_id, event_type, payload, created_at FROM inbox
  WHERE $1::text IS NULL OR user_id = $1 ORDER BY id DESC LIMIT $2`;

const PAGE_QUERY = `
  SELECT id, event_id, event_type, payload, created_at, read_at FROM inbox
  WHERE user_id = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`;

const UNREAD_QUERY = 'SELECT count(*)::int AS unread FROM inbox WHERE user_id = $1 AND read_at IS NULL';

/** The column an alert is sealed for: its sealed text is the jsonb column's one string. */
const PAYLOAD_COLUMN = 'inbox.payload';

/**
 * The inbox rows of the alerts in flight together, in one statement (the batch loader gathers them). An erased
 * person's alert is not kept (the table's trigger skips it): undefined in its place. Rows come back as stored (sealed).
 */
async function insertMany(
  pool: pg.Pool,
  cipher: FieldCipher,
  entries: readonly InboxEntry[],
): Promise<Array<UserInboxRow | undefined>> {
  // PostgreSQL gives a uuid back in lower case, whatever case it was sent in.
  const id = (userId: string, eventId: string) => `${userId} ${eventId.toLowerCase()}`;
  // One statement may not touch a row twice: an alert asked for twice at once is inserted once and given to both.
  const unique = [...new Map(entries.map((e) => [id(e.userId, e.eventId), e])).values()];
  const { rows } = await pool.query<UserInboxRow>(INSERT_INBOX, [
    unique.map((e) => e.userId),
    unique.map((e) => e.eventId),
    unique.map((e) => e.eventType),
    unique.map((e) => JSON.stringify(cipher.seal(e.payload, PAYLOAD_COLUMN))),
  ]);
  const byId = new Map(rows.map((row) => [id(row.user_id, row.event_id), row]));
  return entries.map((e) => byId.get(id(e.userId, e.eventId)));
}

/**
 * The `inbox` table: the websocket channel's deliveries. A row is the alert itself (a browser that was away replays
 * it), so it is written before the alert is pushed live. Alerts are sealed in the table and opened as they are read.
 * Erasure deletes a user's rows inside its own transaction (store/erasure.ts).
 */
export function createInboxRepository(pool: pg.Pool, cipher: FieldCipher) {
  const insert = createBatchLoader((entries: readonly InboxEntry[]) => insertMany(pool, cipher, entries));
  const opened = <T extends InboxRow>(row: T): T => ({
    ...row,
    payload: openJson(cipher, row.payload, PAYLOAD_COLUMN) as Record<string, unknown>,
  });
  return {
    /**
     * Keeps the alert and returns its row; the same alert kept again returns the first row, with its id. Undefined
     * when the person was erased: nothing of theirs is written again.
     */
    insert: async (entry: InboxEntry): Promise<UserInboxRow | undefined> => {
      const row = await insert(entry);
      return row && opened(row);
    },

    /** The user's alerts after `lastSeenId`, oldest first, at most `limit` of them. */
    async after(userId: string, lastSeenId: number, limit: number): Promise<InboxRow[]> {
      const { rows } = await pool.query<InboxRow>(AFTER_QUERY, [userId, lastSeenId, limit]);
      return rows.map(opened);
    },

    /** One user's alerts newest first with their read state, `limit` at a time below `before`. */
    async page(userId: string, { limit, before }: { limit: number; before?: number }) {
      const { rows } = await pool.query<InboxStateRow>(PAGE_QUERY, [userId, before ?? null, limit + 1]);
      return pageOf(
        rows.map((row) => opened({ ...row, id: Number(row.id) })),
        limit,
      );
    },

    async unreadCount(userId: string): Promise<number> {
      const { rows } = await pool.query<{ unread: number }>(UNREAD_QUERY, [userId]);
      return rows[0]!.unread;
    },

    /** Marks one of the user's alerts read; false when the user has no alert with that id. Reading twice is harmless. */
    async markRead(userId: string, id: number): Promise<boolean> {
      const { rowCount } = await pool.query(
        'UPDATE inbox SET read_at = coalesce(read_at, now()) WHERE user_id = $1 AND id = $2',
        [userId, id],
      );
      return rowCount === 1;
    },

    /** Marks every unread alert of the user read; how many there were. */
    async markAllRead(userId: string): Promise<number> {
      const { rowCount } = await pool.query('UPDATE inbox SET read_at = now() WHERE user_id = $1 AND read_at IS NULL', [
        userId,
      ]);
      return rowCount ?? 0;
    },

    /** The newest `limit` alerts, of one user or of everyone. */
    async latest({ userId, limit }: { userId?: string; limit: number }): Promise<UserInboxRow[]> {
      const { rows } = await pool.query<UserInboxRow>(LATEST_QUERY, [userId ?? null, limit]);
      return rows.map(opened);
    },
  };
}

export type InboxRepository = ReturnType<typeof createInboxRepository>;
