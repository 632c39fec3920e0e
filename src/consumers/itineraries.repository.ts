import type pg from 'pg';
import type { BookingEvent, TravelDisruptionEvent } from '../events/index.js';
import { PROFILE_COLUMNS, profileFromRow, type ProfileRow, type UserProfile } from '../preferences/profile.js';

export type VehicleKind = 'train' | 'flight';

export interface ItineraryInput {
  userId: string;
  vehicleKind: VehicleKind;
  vehicleNumber: string;
  journeyDate?: string;
  pnrNumber?: string;
}

/** Who travels on what. Written by the projection and `POST /users/:id/itineraries`; read to find disruption recipients. */
export function createItinerariesRepository(pool: pg.Pool) {
  return {
    /**
     * A confirmed booking: the user exists with the booking's contact details (details the user already has are
     * kept, so a booking never overwrites what they chose), and the booking is an active itinerary. A user who was
     * erased is skipped altogether: a later booking must not bring their contact details back.
     */
    async recordBooking(event: BookingEvent): Promise<void> {
      const { rowCount } = await pool.query(
        `INSERT INTO users (user_id, name, email, phone) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id) DO UPDATE SET name = COALESCE(users.name, EXCLUDED.name),
           email = COALESCE(users.email, EXCLUDED.email), phone = COALESCE(users.phone, EXCLUDED.phone), updated_at = now()
         WHERE users.erased_at IS NULL`,
        [event.userId, event.userName ?? null, event.userEmail ?? null, event.userPhone ?? null],
      );
      if (rowCount === 0) return;
      const vehicle = event.flightNumber ? ['flight', event.flightNumber] : event.trainNumber ? ['train', event.trainNumber] : undefined;
      if (!vehicle) return;
      await this.add({ userId: event.userId, vehicleKind: vehicle[0] as VehicleKind, vehicleNumber: vehicle[1]!, journeyDate: event.journeyDate, pnrNumber: event.pnrNumber });
    },

    async cancelBooking(event: BookingEvent): Promise<void> {
      await pool.query(
        `UPDATE itineraries SET status = 'cancelled', updated_at = now() WHERE user_id = $1 AND pnr_number = $2`,
        [event.userId, event.pnrNumber],
      );
    },

    /** Adds (or reactivates) an itinerary; the user row is created if it does not exist. Returns its id. */
    async add(input: ItineraryInput): Promise<number> {
      await pool.query(`INSERT INTO users (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING`, [input.userId]);
      const values = [input.userId, input.pnrNumber ?? null, input.vehicleKind, input.vehicleNumber, input.journeyDate ?? null];
      const { rows } = input.pnrNumber
        ? await pool.query<{ id: string }>(
            `INSERT INTO itineraries (user_id, pnr_number, vehicle_kind, vehicle_number, journey_date) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (user_id, pnr_number) WHERE pnr_number IS NOT NULL DO UPDATE SET vehicle_kind = EXCLUDED.vehicle_kind,
               vehicle_number = EXCLUDED.vehicle_number, journey_date = EXCLUDED.journey_date, status = 'active', updated_at = now()
             RETURNING id`,
            values,
          )
        : await pool.query<{ id: string }>(
            `INSERT INTO itineraries (user_id, pnr_number, vehicle_kind, vehicle_number, journey_date) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
            values,
          );
      return Number(rows[0]!.id);
    },

    /**
     * Everyone with an active itinerary on the disrupted flight or train, in pages ordered by userId (keyset, so a
     * disruption touching thousands never loads them at once). With a journey date, itineraries on another date are
     * left out; itineraries without a date follow every departure and are included.
     */
    async *travellersAffectedBy(event: TravelDisruptionEvent, pageSize = 500): AsyncGenerator<UserProfile[]> {
      const [kind, number] = event.flightNumber ? ['flight', event.flightNumber] : ['train', event.trainNumber!];
      let after = '';
      for (;;) {
        const { rows } = await pool.query<ProfileRow>(
          `SELECT ${PROFILE_COLUMNS} FROM users u LEFT JOIN preferences p ON p.user_id = u.user_id
            WHERE u.erased_at IS NULL AND u.user_id > $4 AND EXISTS (
              SELECT 1 FROM itineraries i WHERE i.user_id = u.user_id AND i.status = 'active'
                AND i.vehicle_kind = $1 AND i.vehicle_number = $2
                AND ($3::date IS NULL OR i.journey_date IS NULL OR i.journey_date = $3::date))
            ORDER BY u.user_id LIMIT $5`,
          [kind, number, event.journeyDate ?? null, after, pageSize],
        );
        if (rows.length === 0) return;
        yield rows.map(profileFromRow);
        after = rows.at(-1)!.user_id;
        if (rows.length < pageSize) return;
      }
    },
  };
}

export type ItinerariesRepository = ReturnType<typeof createItinerariesRepository>;
