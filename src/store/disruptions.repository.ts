import type pg from 'pg';
import type { TravelDisruptionEvent } from '../events/index.js';

/** A cancellation makes every older notice of the journey moot, a delay or a gate change alike. */
const CANCELLATIONS = ['FLIGHT_CANCELLED', 'TRAIN_CANCELLED'];

// Records this disruption as the newest of its journey and type when it is, and answers the newest one that replaces
// it: of the same type, or a cancellation, and taken in later than it. The insert is not seen by the select (one
// snapshot), which compares with what other events left. Two taken in within the same millisecond replace neither.
const RECORD_AND_FIND_NEWER = `
  WITH recorded AS (
    INSERT INTO latest_disruptions (vehicle_kind, vehicle_number, journey_date, disruption_type, event_id, ingested_at)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (vehicle_kind, vehicle_number, journey_date, disruption_type) DO UPDATE
      SET event_id = EXCLUDED.event_id, ingested_at = EXCLUDED.ingested_at
      WHERE latest_disruptions.ingested_at < EXCLUDED.ingested_at
    RETURNING 1)
  SELECT event_id FROM latest_disruptions
   WHERE vehicle_kind = $1 AND vehicle_number = $2 AND journey_date = $3
     AND (disruption_type = $4 OR disruption_type = ANY($7::text[]))
     AND ingested_at > $6 AND event_id <> $5
   ORDER BY ingested_at DESC LIMIT 1`;

/** Which disruption is the latest word on a journey, so that a traveller gets that one and not every one before it. */
export function createDisruptionsRepository(pool: pg.Pool) {
  return {
    /**
     * Notes the disruption, taken in at `ingestedAt` (the gateway's time, see consumers/ingest-time.ts; never the
     * event's own timestamp); the eventId of a newer one that replaces it, or undefined when it is still the news.
     */
    async supersededBy(event: TravelDisruptionEvent, ingestedAt: Date): Promise<string | undefined> {
      const [kind, number] = event.flightNumber ? ['flight', event.flightNumber] : ['train', event.trainNumber!];
      const { rows } = await pool.query<{ event_id: string }>(RECORD_AND_FIND_NEWER, [
        kind,
        number,
        event.journeyDate ?? '',
        event.disruptionType,
        event.eventId,
        ingestedAt,
        CANCELLATIONS,
      ]);
      return rows[0]?.event_id;
    },
  };
}

export type DisruptionsRepository = ReturnType<typeof createDisruptionsRepository>;
