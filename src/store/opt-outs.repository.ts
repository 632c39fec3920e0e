import type pg from 'pg';
import { createBatchLoader } from '../db/batch-loader.js';
import { toE164 } from '../events/phone.js';
import type { FieldCipher } from '../util/field-cipher.js';

/** The channels a phone number can opt out of by replying STOP. */
export type OptOutChannel = 'sms' | 'whatsapp';

/** A number in any spelling (`whatsapp:+91…`, `98765 43210`) as the table keeps it; undefined if it is no number. */
export const normalisePhone = (phone: string): string | undefined => toE164(phone.replace(/^whatsapp:/, '').trim());

/**
 * Numbers that replied STOP, per channel (table `phone_opt_outs`), kept and found by a keyed hash of the number, never
 * the number itself. The opt-out follows the number wherever it is used: a booking's `userPhone`, a stored phone, a
 * held message's recipient. Look-ups made together (deliveries in flight) go in one statement.
 */
export function createOptOutsRepository(pool: pg.Pool, cipher: Pick<FieldCipher, 'hash'>) {
  const load = createBatchLoader(async (keys: readonly string[]): Promise<boolean[]> => {
    const pairs = keys.map((k) => k.split(' ') as [OptOutChannel, string]);
    const { rows } = await pool.query<{ channel: string; phone_hash: string }>(
      `SELECT channel, phone_hash FROM phone_opt_outs
        WHERE (channel, phone_hash) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [pairs.map(([c]) => c), pairs.map(([, p]) => p)],
    );
    const found = new Set(rows.map((r) => `${r.channel} ${r.phone_hash}`));
    return keys.map((k) => found.has(k));
  });
  /** The number's keyed hash, or undefined if it is no number. */
  const hashOf = (phone: string): string | undefined => {
    const e164 = normalisePhone(phone);
    return e164 ? cipher.hash(e164) : undefined;
  };

  async function isOptedOut(phone: string, channel: OptOutChannel): Promise<boolean> {
    const hash = hashOf(phone);
    return hash ? load(`${channel} ${hash}`) : false;
  }

  return {
    /** Records a STOP; a second STOP keeps the first one's time. */
    async optOut(phone: string, channel: OptOutChannel): Promise<void> {
      const hash = hashOf(phone);
      if (!hash) return;
      await pool.query(`INSERT INTO phone_opt_outs (phone_hash, channel) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
        hash,
        channel,
      ]);
    },

    /** Records a START: the number may be sent to again on that channel. */
    async optIn(phone: string, channel: OptOutChannel): Promise<void> {
      const hash = hashOf(phone);
      if (!hash) return;
      await pool.query(`DELETE FROM phone_opt_outs WHERE phone_hash = $1 AND channel = $2`, [hash, channel]);
    },

    /**
     * Replaces the numbers stored before opt-outs were kept by hash (they start with '+', a hash never does) with
     * their hashes, keeping when each opted out; returns how many. Run at start: a migration cannot know the key.
     */
    async hashStoredNumbers(): Promise<number> {
      const { rows } = await pool.query<{ phone_hash: string }>(
        `SELECT DISTINCT phone_hash FROM phone_opt_outs WHERE phone_hash LIKE '+%'`,
      );
      if (rows.length === 0) return 0;
      const plain = rows.map((r) => r.phone_hash);
      const { rowCount } = await pool.query(
        `WITH moved AS (
           DELETE FROM phone_opt_outs o USING unnest($1::text[], $2::text[]) AS v(plain, hash)
            WHERE o.phone_hash = v.plain RETURNING v.hash, o.channel, o.opted_out_at)
         INSERT INTO phone_opt_outs (phone_hash, channel, opted_out_at) SELECT * FROM moved ON CONFLICT DO NOTHING`,
        [plain, plain.map((p) => cipher.hash(p))],
      );
      return rowCount ?? 0;
    },

    /** Whether this number replied STOP on this channel (and has not replied START since). */
    isOptedOut,

    /** The check for one channel's pipeline, as `{ has(phone) }` (the shape of `OptOuts` in src/consumers/opt-outs.ts). */
    forChannel(channel: OptOutChannel): { has(phone: string): Promise<boolean> } {
      return { has: (phone) => isOptedOut(phone, channel) };
    },
  };
}

export type OptOutsRepository = ReturnType<typeof createOptOutsRepository>;
