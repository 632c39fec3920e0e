import type pg from 'pg';

/**
 * What the ledger and the dead letters say of one recipient of an event on a channel. `userId` null: a dead letter of
 * the whole record (a record that failed before any recipient, e.g. `UNHANDLED`).
 */
export interface RecipientStanding {
  userId: string | null;
  /** The ledger row's status; null when there is none. */
  status: string | null;
  /** The newest dead letter's status (`pending`, `replayed`, `discarded`) and class (`permanent`, `exhausted`). */
  letter: { status: string; errorClass: string } | null;
}

// The ledger's rows of the event on the channel, beside the newest dead letter of each recipient (and of the record).
const STANDING = `
  WITH ledger AS (SELECT user_id, status FROM deliveries WHERE event_id = $1 AND channel = $2),
       letters AS (SELECT DISTINCT ON (user_id) user_id, status, error_class FROM dead_letters
                    WHERE event_id = $1 AND channel = $2 ORDER BY user_id, id DESC)
  SELECT coalesce(g.user_id, l.user_id) AS user_id, g.status, l.status AS letter_status, l.error_class
    FROM ledger g FULL JOIN letters l ON l.user_id = g.user_id`;

/** The ledger's word, for a re-drive, on whom an event reached on a channel and how the others ended. */
export function createRedriveLedgerRepository(pool: pg.Pool) {
  return {
    async standing(eventId: string, channel: string): Promise<RecipientStanding[]> {
      const { rows } = await pool.query<{
        user_id: string | null;
        status: string | null;
        letter_status: string | null;
        error_class: string | null;
      }>(STANDING, [eventId, channel]);
      return rows.map((r) => ({
        userId: r.user_id,
        status: r.status,
        letter: r.letter_status ? { status: r.letter_status, errorClass: r.error_class ?? 'exhausted' } : null,
      }));
    },
  };
}

export type RedriveLedgerRepository = ReturnType<typeof createRedriveLedgerRepository>;
