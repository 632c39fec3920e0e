import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type pg from 'pg';
import { EVENT_TYPES } from '../events/index.js';
import { toE164 } from '../events/phone.js';
import { withTransaction } from '../db/transaction.js';
import type { PreferencesRepository } from './preferences.repository.js';
import { openJson, type FieldCipher } from '../util/field-cipher.js';
import { openContact } from './sealed-contacts.js';

/**
 * A dead letter is this person's when it was theirs to deliver (its user_id) or the event it holds names them (a poison
 * booking of theirs that never got as far as a user_id: `event_user_id`, or the record itself on a row from before
 * records were sealed). A record that merely quotes their email or phone is not.
 */
const PERSONS_DEAD_LETTER = `(d.user_id = $1 OR d.event_user_id = $1
  OR (jsonb_typeof(d.payload) = 'object' AND d.payload->>'userId' = $1))`;

/** How many rows of each kind an erasure deleted or masked. */
export interface ErasureCounts {
  deliveries: number;
  inbox: number;
  deadLetters: number;
  itineraries: number;
}

/**
 * Where the person was reached: emails (lower case) and phones (E.164), from their profile and their own deliveries and
 * events. Used only to scrub provider errors in rows that are already theirs: contact details are typed in by the user
 * and never verified, so they must never decide which rows an erasure touches.
 */
interface Contacts {
  emails: string[];
  phones: string[];
}

/**
 * The right to erasure. In one transaction: the users row stays as a tombstone (`erased_at`, no name, email or
 * phone), preferences, inbox and itineraries go, deliveries keep their ids, status and counts but lose recipient,
 * subject and body, dead letters keep their ids but lose the record. Only rows that belong to this user id are
 * touched: rows on someone else's account stay as they are even when they hold the same email or phone, since anyone
 * can set their own contact details to another person's. The users row is locked first, so a booking arriving
 * meanwhile waits and then finds the tombstone.
 */
export function createErasure({
  pool,
  preferences,
  cipher,
}: {
  pool: pg.Pool;
  preferences: PreferencesRepository;
  cipher: FieldCipher;
}) {
  return {
    async erase(userId: string): Promise<ErasureCounts> {
      // Through the profile cache's write path: no reader is served the profile from before the erasure.
      return preferences.writing(userId, () =>
        withTransaction(pool, async (client): Promise<ErasureCounts> => {
          await client.query(`INSERT INTO users (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING`, [userId]);
          const contacts = await contactsOf(client, cipher, userId);
          const result = {
            deliveries: await maskDeliveries(client, userId, contacts),
            deadLetters: await maskDeadLetters(client, userId, contacts),
            inbox: (await client.query(`DELETE FROM inbox WHERE user_id = $1`, [userId])).rowCount ?? 0,
            itineraries: (await client.query(`DELETE FROM itineraries WHERE user_id = $1`, [userId])).rowCount ?? 0,
          };
          await client.query(`DELETE FROM preferences WHERE user_id = $1`, [userId]);
          await client.query(
            `UPDATE users SET name = NULL, email = NULL, phone = NULL, phone_hash = NULL, locale = 'en', whatsapp_opt_in = false,
             erased_at = COALESCE(erased_at, now()), updated_at = now() WHERE user_id = $1`,
            [userId],
          );
          return result;
        }),
      );
    },
  };
}

/** Every address of the person's on record, opened: the stored ones are sealed, each with an IV of its own. */
async function contactsOf(client: pg.PoolClient, cipher: FieldCipher, userId: string): Promise<Contacts> {
  const profile = await client.query<{ email: string | null; phone: string | null }>(
    `SELECT email, phone FROM users WHERE user_id = $1 FOR UPDATE`,
    [userId],
  );
  const fromDeliveries = await client.query<{ channel: string; recipient: string }>(
    `SELECT channel, recipient FROM deliveries WHERE user_id = $1 AND recipient IS NOT NULL AND channel <> 'websocket'`,
    [userId],
  );
  const fromEvents = await client.query<{ payload: unknown }>(
    `SELECT payload FROM dead_letters d WHERE ${PERSONS_DEAD_LETTER}`,
    [userId],
  );
  const rows = [
    ...profile.rows.map((row) => openContact(cipher, row)),
    ...fromEvents.rows.map(({ payload }) => {
      const event = openJson(cipher, payload, 'dead_letters.payload') as {
        userEmail?: unknown;
        userPhone?: unknown;
      } | null;
      const text = (value: unknown) => (typeof value === 'string' ? value : null);
      return { email: text(event?.userEmail), phone: text(event?.userPhone) };
    }),
  ];
  const emails = new Set<string>();
  const phones = new Set<string>();
  const addPhone = (raw: string | null) => {
    const e164 = raw && toE164(raw.replace(/^whatsapp:/, ''));
    if (e164) phones.add(e164);
  };
  for (const row of rows) {
    if (row.email?.trim()) emails.add(row.email.trim().toLowerCase());
    addPhone(row.phone);
  }
  for (const row of fromDeliveries.rows) {
    const recipient = cipher.open(row.recipient, 'deliveries.recipient');
    if (row.channel === 'email') emails.add(recipient.toLowerCase());
    else addPhone(recipient);
  }
  return { emails: [...emails], phones: [...phones] };
}

async function maskDeliveries(client: pg.PoolClient, userId: string, contacts: Contacts): Promise<number> {
  const { rows } = await client.query<{ id: string }>(
    `UPDATE deliveries SET recipient = NULL, subject = NULL, body = NULL, updated_at = now() WHERE user_id = $1 RETURNING id`,
    [userId],
  );
  const pattern = contactPattern(contacts);
  if (pattern && rows.length > 0) {
    // Provider errors are kept for the history; an address quoted in one is not.
    const ids = rows.map((r) => r.id);
    await client.query(
      `UPDATE deliveries SET error_message = regexp_replace(error_message, $2, '[erased]', 'gi') WHERE id = ANY($1::bigint[]) AND error_message ~* $2`,
      [ids, pattern],
    );
    await client.query(
      `UPDATE delivery_attempts SET error_message = regexp_replace(error_message, $2, '[erased]', 'gi') WHERE delivery_id = ANY($1::bigint[]) AND error_message ~* $2`,
      [ids, pattern],
    );
  }
  return rows.length;
}

async function maskDeadLetters(client: pg.PoolClient, userId: string, contacts: Contacts): Promise<number> {
  const { rowCount } = await client.query(
    `UPDATE dead_letters d SET
       payload = jsonb_build_object('erased', true,
         'eventId', COALESCE(d.event_id::text, CASE WHEN d.payload->>'eventId' ~* '^[0-9a-f-]{36}$' THEN d.payload->>'eventId' END),
         'eventType', COALESCE(d.event_type, CASE WHEN d.payload->>'eventType' = ANY($2::text[]) THEN d.payload->>'eventType' END)),
       -- A record that is gone cannot be replayed.
       status = CASE WHEN d.status = 'pending' THEN 'discarded' ELSE d.status END,
       error_message = CASE WHEN $3::text IS NULL THEN d.error_message ELSE regexp_replace(d.error_message, $3, '[erased]', 'gi') END
     WHERE ${PERSONS_DEAD_LETTER}`,
    [userId, [...EVENT_TYPES], contactPattern(contacts) ?? null],
  );
  return rowCount ?? 0;
}

/** A case-insensitive regular expression matching any of the contacts, longest spelling first; undefined if none. */
function contactPattern({ emails, phones }: Contacts): string | undefined {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const alternatives = [...emails, ...phones, ...phones.map(nationalDigits)].map(escape);
  return alternatives.length > 0 ? alternatives.join('|') : undefined;
}

/** The number without its country code, as bookings often carry it ("9876543210"). */
function nationalDigits(e164: string): string {
  return parsePhoneNumberFromString(e164)?.nationalNumber ?? e164.replace(/\D/g, '');
}
