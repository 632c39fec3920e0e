import type pg from 'pg';
import { createBatchLoader } from '../db/batch-loader.js';
import type { Channel, TravelDisruptionEvent } from '../events/index.js';
import { journeyOf, newerNoticeSql } from './disruptions.repository.js';
import { normalisePhone } from './opt-outs.repository.js';
import type { FieldCipher } from '../util/field-cipher.js';

/** One send about to go: who, on which channel, to which number, and the disruption it announces, if one. */
export interface SendCheckRequest {
  userId: string;
  channel: Channel;
  /** The address the message goes to (a number in any spelling for SMS and WhatsApp). */
  to: string;
  notice?: TravelDisruptionEvent;
  /** When the gateway took the notice in: a notice taken in after it replaces it. */
  ingestedAt?: Date;
}

/** What changed since the send was decided. */
export interface SendCheck {
  erased: boolean;
  /** The number sent STOP on this channel. */
  optedOut: boolean;
  /** A newer notice of the same journey that replaces this one. */
  newerNotice?: string;
}

// One row per send, in the order asked. Read only: the notice was recorded when its record was read.
const CHECK_MANY = `
  SELECT EXISTS (SELECT 1 FROM users u WHERE u.user_id = v.user_id AND u.erased_at IS NOT NULL) AS erased,
         v.phone IS NOT NULL
           AND EXISTS (SELECT 1 FROM phone_opt_outs o WHERE o.channel = v.channel AND o.phone_hash = v.phone) AS opted_out,
         CASE WHEN v.kind IS NOT NULL THEN (${newerNoticeSql({
           kind: 'v.kind',
           number: 'v.number',
           date: 'v.journey_date',
           type: 'v.disruption_type',
           eventId: 'v.event_id',
           timestamp: 'v.ingested_at',
         })}) END AS newer_notice
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::uuid[],
                $9::timestamptz[]) WITH ORDINALITY
      AS v(user_id, channel, phone, kind, number, journey_date, disruption_type, event_id, ingested_at, n)
   ORDER BY v.n`;

const PHONE_CHANNELS = new Set<Channel>(['sms', 'whatsapp']);

async function checkMany(
  pool: pg.Pool,
  cipher: Pick<FieldCipher, 'hash'>,
  requests: readonly SendCheckRequest[],
): Promise<SendCheck[]> {
  const journeys = requests.map((r) => (r.notice ? journeyOf(r.notice) : undefined));
  const { rows } = await pool.query<{ erased: boolean; opted_out: boolean; newer_notice: string | null }>(CHECK_MANY, [
    requests.map((r) => r.userId),
    requests.map((r) => r.channel),
    // Opt-outs are kept by the number's keyed hash (store/opt-outs.repository.ts).
    requests.map((r) => {
      const e164 = PHONE_CHANNELS.has(r.channel) ? normalisePhone(r.to) : undefined;
      return e164 ? cipher.hash(e164) : null;
    }),
    journeys.map((j) => j?.kind ?? null),
    journeys.map((j) => j?.number ?? null),
    journeys.map((j) => j?.date ?? null),
    requests.map((r) => r.notice?.disruptionType ?? null),
    requests.map((r) => r.notice?.eventId ?? null),
    requests.map((r) => r.ingestedAt ?? null),
  ]);
  return rows.map((row) => ({
    erased: row.erased,
    optedOut: row.opted_out,
    ...(row.newer_notice && { newerNotice: row.newer_notice }),
  }));
}

/**
 * The last look before a send: erased, opted out, replaced by a newer notice. Sends checked at the same time (the
 * turns of a sender's rate, the recipients of a fan-out) share one statement.
 */
export function createSendChecks(pool: pg.Pool, cipher: Pick<FieldCipher, 'hash'>) {
  const load = createBatchLoader((requests: readonly SendCheckRequest[]) => checkMany(pool, cipher, requests));
  return { check: (request: SendCheckRequest): Promise<SendCheck> => load(request) };
}

export type SendChecks = ReturnType<typeof createSendChecks>;
