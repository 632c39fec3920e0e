import type pg from 'pg';
import { createBatchLoader } from '../db/batch-loader.js';
import { toE164 } from '../events/phone.js';

/** The channels a phone number can opt out of by replying STOP. */
export type OptOutChannel = 'sms' | 'whatsapp';

/** A number in any spelling (`whatsapp:+91…`, `98765 43210`) as the table keeps it; undefined if it is no number. */
export const normalisePhone = (phone: string): string | undefined => toE164(phone.replace(/^whatsapp:/, '').trim());

/**
 * Numbers that replied STOP, per channel (table `phone_opt_outs`). The opt-out follows the number wherever it is used:
 * a booking's `userPhone`, a stored phone, a held message's recipient. Look-ups made together (deliveries in flight)
 * go in one statement.
 */
export function createOptOutsRepository(pool: pg.Pool) {
  const load = createBatchLoader(async (keys: readonly string[]): Promise<boolean[]> => {
    const pairs = keys.map((k) => k.split(' ') as [OptOutChannel, string]);
    const { rows } = await pool.query<{ channel: string; phone: string }>(
      `SELECT channel, phone FROM phone_opt_outs WHERE (channel, phone) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [pairs.map(([c]) => c), pairs.map(([, p]) => p)],
    );
    const found = new Set(rows.map((r) => `${r.channel} ${r.phone}`));
    return keys.map((k) => found.has(k));
  });

  async function isOptedOut(phone: string, channel: OptOutChannel): Promise<boolean> {
    const e164 = normalisePhone(phone);
    return e164 ? load(`${channel} ${e164}`) : false;
  }

  return {
    /** Records a STOP; a second STOP keeps the first one's time. */
    async optOut(phone: string, channel: OptOutChannel): Promise<void> {
      const e164 = normalisePhone(phone);
      if (!e164) return;
      await pool.query(`INSERT INTO phone_opt_outs (phone, channel) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
        e164,
        channel,
      ]);
    },

    /** Records a START: the number may be sent to again on that channel. */
    async optIn(phone: string, channel: OptOutChannel): Promise<void> {
      const e164 = normalisePhone(phone);
      if (!e164) return;
      await pool.query(`DELETE FROM phone_opt_outs WHERE phone = $1 AND channel = $2`, [e164, channel]);
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
