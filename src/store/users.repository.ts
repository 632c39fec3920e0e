import type pg from 'pg';
import type { FieldCipher } from '../util/field-cipher.js';
import { openContact } from './sealed-contacts.js';

/** Where a user can be reached, as stored on their profile. */
export interface UserContact {
  userId: string;
  email: string | null;
  phone: string | null;
}

/**
 * Read-only look-ups of the `users` table by the routes. Erased users (tombstones) are never found: they have no
 * contact details left and must not be reached again. Writes go through the preferences repository, which keeps the
 * cached profiles right.
 */
export function createUsersRepository(pool: pg.Pool, cipher: FieldCipher) {
  return {
    /** The user's contact details; undefined for an unknown or erased user. */
    async contactOf(userId: string): Promise<UserContact | undefined> {
      const { rows } = await pool.query<UserContact>(
        'SELECT user_id AS "userId", email, phone FROM users WHERE user_id = $1 AND erased_at IS NULL',
        [userId],
      );
      return rows[0] && openContact(cipher, rows[0]);
    },

    /** The users whose stored phone is this number (E.164), erased ones left out: found by the number's keyed hash. */
    async idsWithPhone(phone: string): Promise<string[]> {
      const { rows } = await pool.query<{ user_id: string }>(
        'SELECT user_id FROM users WHERE phone_hash = $1 AND erased_at IS NULL',
        [cipher.hash(phone)],
      );
      return rows.map((row) => row.user_id);
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
