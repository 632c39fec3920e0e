import type pg from 'pg';
import type { BookingEvent, TravelDisruptionEvent } from '../events/index.js';
import { createBatchLoader } from '../db/batch-loader.js';
import { PROFILE_COLUMNS, profileFromRow, type ProfileRow, type UserProfile } from '../preferences/profile.js';
import type { FieldCipher } from '../util/field-cipher.js';
import { openContacts, sealContact } from './sealed-contacts.js';

export type VehicleKind = 'train' | 'flight';

export interface ItineraryInput {
  userId: string;
  vehicleKind: VehicleKind;
  vehicleNumber: string;
  journeyDate?: string;
  pnrNumber?: string;
  /** Delay notices for this journey under this many minutes are not sent. */
  minDelayMinutes?: number;
}

/** Who travels on what. Written by the projection and `POST /users/:id/itineraries`; read to find disruption recipients. */
export function createItinerariesRepository(pool: pg.Pool, cipher: FieldCipher) {
  const recordOne = createBatchLoader((events: readonly BookingEvent[]) => recordBookings(pool, cipher, events));
  const travellerFromRow = (row: TravellerRow) => openContacts(cipher, withJourneyThreshold(row));
  return {
    /**
     * A confirmed booking: the user exists with the booking's contact details (details the user already has are
     * kept, so a booking never overwrites what they chose), and the booking is an active itinerary. A user who was
     * erased is skipped altogether: a later booking must not bring their contact details back. Bookings projected at
     * the same time are written in one statement.
     */
    recordBooking(event: BookingEvent): Promise<void> {
      return recordOne(event);
    },

    async cancelBooking(event: BookingEvent): Promise<void> {
      await pool.query(
        `UPDATE itineraries SET status = 'cancelled', updated_at = now() WHERE user_id = $1 AND pnr_number = $2`,
        [event.userId, event.pnrNumber],
      );
    },

    /**
     * Adds (or reactivates) an itinerary; the user row is created if it does not exist. Returns its id. One the user
     * adds came through no partner's key, so no partner's status webhook hears of its disruption notices.
     */
    async add(input: ItineraryInput): Promise<number> {
      await pool.query(`INSERT INTO users (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING`, [input.userId]);
      const values = [
        input.userId,
        input.pnrNumber ?? null,
        input.vehicleKind,
        input.vehicleNumber,
        input.journeyDate ?? null,
        input.minDelayMinutes ?? null,
      ];
      const { rows } = input.pnrNumber
        ? await pool.query<{ id: string }>(
            `INSERT INTO itineraries (user_id, pnr_number, vehicle_kind, vehicle_number, journey_date, min_delay_minutes)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (user_id, pnr_number) WHERE pnr_number IS NOT NULL DO UPDATE SET vehicle_kind = EXCLUDED.vehicle_kind,
               vehicle_number = EXCLUDED.vehicle_number, journey_date = EXCLUDED.journey_date,
               min_delay_minutes = EXCLUDED.min_delay_minutes, status = 'active', updated_at = now(),
               -- The booking's key keeps it while the user only tunes it; moved to another vehicle, it is the user's.
               source_key_digest = CASE WHEN (itineraries.vehicle_kind, itineraries.vehicle_number)
                 = (EXCLUDED.vehicle_kind, EXCLUDED.vehicle_number) THEN itineraries.source_key_digest END
             RETURNING id`,
            values,
          )
        : await pool.query<{ id: string }>(
            `INSERT INTO itineraries (user_id, pnr_number, vehicle_kind, vehicle_number, journey_date, min_delay_minutes)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
            values,
          );
      return Number(rows[0]!.id);
    },

    /**
     * Everyone with an active itinerary on the disrupted flight or train, in pages ordered by userId (keyset, so a
     * disruption touching thousands never loads them at once). With a journey date, itineraries on another date are
     * left out; itineraries without a date follow every departure and are included. With a part, only the travellers
     * in that part's bucket (consumers/fan-out.ts).
     */
    async *travellersAffectedBy(
      event: TravelDisruptionEvent,
      { part = WHOLE, pageSize = 500 }: { part?: TravellerPart; pageSize?: number } = {},
    ): AsyncGenerator<UserProfile[]> {
      let after = '';
      for (;;) {
        const { rows } = await pool.query<TravellerRow>(
          `${travellersWhere(`u.user_id > $4 AND ${BUCKET} % $6 = $7`)} ORDER BY u.user_id LIMIT $5`,
          [...journeyParams(event), after, pageSize, part.count, part.index],
        );
        if (rows.length === 0) return;
        yield rows.map(travellerFromRow);
        after = rows.at(-1)!.user_id;
        if (rows.length < pageSize) return;
      }
    },

    /**
     * One traveller the disruption concerns, as `travellersAffectedBy` finds them (the journey's threshold included),
     * for a retry of their delivery: the retry must decide as the first attempt did. Undefined when they no longer
     * travel on it, or were erased.
     */
    async travellerAffectedBy(event: TravelDisruptionEvent, userId: string): Promise<UserProfile | undefined> {
      const { rows } = await pool.query<TravellerRow>(travellersWhere('u.user_id = $4'), [
        ...journeyParams(event),
        userId,
      ]);
      return rows[0] && travellerFromRow(rows[0]);
    },
  };
}

export type ItinerariesRepository = ReturnType<typeof createItinerariesRepository>;

/** An active itinerary of user `u` on the disrupted vehicle ($1 kind, $2 number) and date ($3, none: any date). */
const MATCHING_ITINERARY = `WHERE i.user_id = u.user_id AND i.status = 'active' AND i.vehicle_kind = $1
  AND i.vehicle_number = $2 AND ($3::date IS NULL OR i.journey_date IS NULL OR i.journey_date = $3::date)`;

const journeyParams = (event: TravelDisruptionEvent) =>
  event.flightNumber
    ? ['flight', event.flightNumber, event.journeyDate ?? null]
    : ['train', event.trainNumber!, event.journeyDate ?? null];

type TravellerRow = ProfileRow & { journey_min_delay: number | null };

/** A share of a journey's travellers: those whose bucket of `count` is `index` (see BUCKET). */
export interface TravellerPart {
  index: number;
  count: number;
}

const WHOLE: TravellerPart = { index: 0, count: 1 };

/**
 * A traveller's bucket before the modulo: PostgreSQL's own hash of the user id, made non-negative. Every worker asks
 * the same database, so a traveller is in the same part whoever delivers it.
 */
const BUCKET = '(hashtext(u.user_id) & 2147483647)';

// The journey's own threshold (the smallest, should two itineraries match), asked only for the rows returned.
const travellersWhere = (which: string) => `
  SELECT ${PROFILE_COLUMNS}, (SELECT min(i.min_delay_minutes) FROM itineraries i ${MATCHING_ITINERARY}) AS journey_min_delay
    FROM users u LEFT JOIN preferences p ON p.user_id = u.user_id
   WHERE u.erased_at IS NULL AND ${which} AND EXISTS (SELECT 1 FROM itineraries i ${MATCHING_ITINERARY})`;

/** The journey's threshold wins over the person's own. */
function withJourneyThreshold(row: TravellerRow): UserProfile {
  const profile = profileFromRow(row);
  return row.journey_min_delay === null ? profile : { ...profile, minDelayMinutes: row.journey_min_delay };
}

// Users first (one row per user, the earliest booking's details where none are on file, sealed, the phone's hash going
// with the phone), then the itineraries of the
// users that are not erased (one row per PNR, the latest booking's vehicle, and the key that sent that booking as the
// api noted it: a status webhook reports a disruption's notices only for the travellers its own key booked).
const RECORD_BOOKINGS = `
  WITH v AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::date[], $8::text[],
                         $9::uuid[], $10::text[])
      WITH ORDINALITY AS v(user_id, name, email, phone, kind, number, journey_date, pnr, event_id, phone_hash, n)),
  known AS (
    INSERT INTO users (user_id, name, email, phone, phone_hash)
    SELECT DISTINCT ON (user_id) user_id, name, email, phone, phone_hash FROM v ORDER BY user_id, n
    ON CONFLICT (user_id) DO UPDATE SET name = COALESCE(users.name, EXCLUDED.name),
      email = COALESCE(users.email, EXCLUDED.email), phone = COALESCE(users.phone, EXCLUDED.phone),
      phone_hash = CASE WHEN users.phone IS NULL THEN EXCLUDED.phone_hash ELSE users.phone_hash END, updated_at = now()
    WHERE users.erased_at IS NULL
    RETURNING user_id)
  INSERT INTO itineraries (user_id, pnr_number, vehicle_kind, vehicle_number, journey_date, source_key_digest)
  SELECT DISTINCT ON (v.user_id, v.pnr) v.user_id, v.pnr, v.kind, v.number, v.journey_date, s.key_digest
    FROM v JOIN known USING (user_id) LEFT JOIN event_sources s ON s.event_id = v.event_id
   WHERE v.kind IS NOT NULL ORDER BY v.user_id, v.pnr, v.n DESC
  ON CONFLICT (user_id, pnr_number) WHERE pnr_number IS NOT NULL DO UPDATE SET vehicle_kind = EXCLUDED.vehicle_kind,
    vehicle_number = EXCLUDED.vehicle_number, journey_date = EXCLUDED.journey_date,
    source_key_digest = EXCLUDED.source_key_digest, status = 'active', updated_at = now()`;

async function recordBookings(pool: pg.Pool, cipher: FieldCipher, events: readonly BookingEvent[]): Promise<void[]> {
  const vehicle = (e: BookingEvent) =>
    e.flightNumber ? ['flight', e.flightNumber] : e.trainNumber ? ['train', e.trainNumber] : [null, null];
  const contacts = events.map((e) => sealContact(cipher, { name: e.userName, email: e.userEmail, phone: e.userPhone }));
  await pool.query(RECORD_BOOKINGS, [
    events.map((e) => e.userId),
    contacts.map((c) => c.name),
    contacts.map((c) => c.email),
    contacts.map((c) => c.phone),
    events.map((e) => vehicle(e)[0]),
    events.map((e) => vehicle(e)[1]),
    events.map((e) => e.journeyDate ?? null),
    events.map((e) => e.pnrNumber),
    events.map((e) => e.eventId),
    contacts.map((c) => c.phoneHash),
  ]);
  return events.map(() => undefined);
}
