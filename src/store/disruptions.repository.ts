import type pg from 'pg';
import type { TravelDisruptionEvent } from '../events/index.js';

/** A cancellation makes every older notice of the journey moot, a delay or a gate change alike. */
const CANCELLATIONS = ['FLIGHT_CANCELLED', 'TRAIN_CANCELLED'];

/** SQL expressions for a notice's journey, type, id and the time the gateway took it in, where a statement has them. */
export interface NoticeColumns {
  kind: string;
  number: string;
  date: string;
  type: string;
  eventId: string;
  timestamp: string;
}

/**
 * The newest recorded notice that replaces the one described: of its journey, of its type or a cancellation, and later.
 * One rule for both places that ask (a record as it is read, a send just before it goes).
 */
export const newerNoticeSql = (of: NoticeColumns) => `
  SELECT l.event_id FROM latest_disruptions l
   WHERE l.vehicle_kind = ${of.kind} AND l.vehicle_number = ${of.number} AND l.journey_date = ${of.date}
     AND (l.disruption_type = ${of.type} OR l.disruption_type IN (${CANCELLATIONS.map((c) => `'${c}'`).join(', ')}))
     AND l.ingested_at > ${of.timestamp} AND l.event_id <> ${of.eventId}
   ORDER BY l.ingested_at DESC LIMIT 1`;

/** Where a disruption's journey is kept: journey_date '' means "no date". */
export function journeyOf(event: TravelDisruptionEvent) {
  const [kind, number] = event.flightNumber ? ['flight', event.flightNumber] : ['train', event.trainNumber!];
  return { kind, number, date: event.journeyDate ?? '' };
}

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
  ${newerNoticeSql({ kind: '$1', number: '$2', date: '$3', type: '$4', eventId: '$5::uuid', timestamp: '$6::timestamptz' })}`;

/** Which disruption is the latest word on a journey, so that a traveller gets that one and not every one before it. */
export function createDisruptionsRepository(pool: pg.Pool) {
  return {
    /**
     * Notes the disruption, taken in at `ingestedAt` (the gateway's time, see consumers/ingest-time.ts; never the
     * event's own timestamp); the eventId of a newer one that replaces it, or undefined when it is still the news.
     */
    async supersededBy(event: TravelDisruptionEvent, ingestedAt: Date): Promise<string | undefined> {
      const { kind, number, date } = journeyOf(event);
      const { rows } = await pool.query<{ event_id: string }>(RECORD_AND_FIND_NEWER, [
        kind,
        number,
        date,
        event.disruptionType,
        event.eventId,
        ingestedAt,
      ]);
      return rows[0]?.event_id;
    },
  };
}

export type DisruptionsRepository = ReturnType<typeof createDisruptionsRepository>;
