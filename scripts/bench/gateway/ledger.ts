/**
 * Settled deliveries per channel, counted from the `deliveries` ledger once a second. The table grows by thousands
 * of rows a second and a full count would scan it every time, so the counter reads only rows it has not seen settle:
 * new ids (primary-key range) and the few still `sending` or missing (an id whose insert had not committed yet).
 */
import type pg from 'pg';
import { CHANNELS, type Channel } from '../../../src/events/index.js';

/** Statuses after which the ledger's row no longer waits for anything in the bench (no quiet hours are set). */
const UNSETTLED = new Set(['sending', 'deferred']);
/** An id missing this long was a sequence value spent on a conflicting claim, not an insert yet to commit. */
const GAP_PATIENCE_MS = 30_000;
const MAX_GAPS = 50_000;

export type ChannelCounts = Record<Channel, number>;
export const zeroCounts = (): ChannelCounts => Object.fromEntries(CHANNELS.map((c) => [c, 0])) as ChannelCounts;
export const totalOf = (counts: Partial<ChannelCounts>): number =>
  CHANNELS.reduce((sum, c) => sum + (counts[c] ?? 0), 0);

/** The highest id now: a phase counts only rows above it (the ones its own events make). */
export async function ledgerBaseline(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ max: string | null }>('SELECT max(id) AS max FROM deliveries');
  return Number(rows[0]?.max ?? 0);
}

export function createLedgerCounter(pool: pg.Pool, afterId = 0) {
  let maxId = afterId;
  const open = new Map<number, Channel>();
  const gaps = new Map<number, number>();
  const settled = zeroCounts();

  async function poll(): Promise<ChannelCounts> {
    const now = performance.now();
    for (const [id, since] of gaps) if (now - since > GAP_PATIENCE_MS || gaps.size > MAX_GAPS) gaps.delete(id);
    const recheck = [...open.keys(), ...gaps.keys()];
    const { rows } = await pool.query<{ id: string; channel: Channel; status: string }>(
      `SELECT id, channel, status FROM deliveries WHERE id > $1 OR id = ANY($2::bigint[]) ORDER BY id LIMIT 100000`,
      [maxId, recheck],
    );
    let previous = maxId;
    for (const row of rows) {
      const id = Number(row.id);
      const final = !UNSETTLED.has(row.status);
      if (id <= maxId) {
        // A row rechecked: one that was still sending, or one whose id had been missing.
        gaps.delete(id);
        if (final) {
          open.delete(id);
          settled[row.channel] += 1;
        } else open.set(id, row.channel);
        continue;
      }
      for (let missing = previous + 1; missing < id; missing += 1) gaps.set(missing, now);
      previous = id;
      if (final) settled[row.channel] += 1;
      else open.set(id, row.channel);
    }
    maxId = Math.max(maxId, previous);
    return { ...settled };
  }

  return { poll, openCount: () => open.size };
}

/** Per channel and status, once at the end of a phase (one full scan is fine then). */
export async function statusBreakdown(
  pool: pg.Pool,
  where = 'TRUE',
  params: unknown[] = [],
): Promise<Record<string, Record<string, number>>> {
  const { rows } = await pool.query<{ channel: string; status: string; n: number }>(
    `SELECT channel, status, count(*)::int AS n FROM deliveries WHERE ${where} GROUP BY channel, status ORDER BY channel, status`,
    params,
  );
  const out: Record<string, Record<string, number>> = {};
  for (const row of rows) (out[row.channel] ??= {})[row.status] = row.n;
  return out;
}

/** Settled deliveries of one event per channel (the fanout): the event_id index makes this cheap. */
export async function settledForEvent(pool: pg.Pool, eventId: string): Promise<ChannelCounts> {
  const { rows } = await pool.query<{ channel: Channel; n: number }>(
    `SELECT channel, count(*)::int AS n FROM deliveries WHERE event_id = $1 AND status NOT IN ('sending', 'deferred') GROUP BY channel`,
    [eventId],
  );
  const counts = zeroCounts();
  for (const row of rows) counts[row.channel] = row.n;
  return counts;
}

/** Settled deliveries of many events per channel (the rate part's burst): the event_id index again. */
export async function settledForEvents(pool: pg.Pool, eventIds: string[]): Promise<ChannelCounts> {
  const { rows } = await pool.query<{ channel: Channel; n: number }>(
    `SELECT channel, count(*)::int AS n FROM deliveries
      WHERE event_id = ANY($1::uuid[]) AND status NOT IN ('sending', 'deferred') GROUP BY channel`,
    [eventIds],
  );
  const counts = zeroCounts();
  for (const row of rows) counts[row.channel] = row.n;
  return counts;
}

/**
 * Deliveries of these events on these channels that were not sent on their first attempt: more than one attempt, an
 * attempt with an error, or an end other than queued, sent or delivered (as test/send-rates.test.ts asks).
 */
export async function notSentFirstTime(pool: pg.Pool, eventIds: string[], channels: Channel[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM deliveries d
      WHERE d.event_id = ANY($1::uuid[]) AND d.channel = ANY($2::text[])
        AND (d.attempts <> 1 OR d.status NOT IN ('queued', 'sent', 'delivered')
             OR EXISTS (SELECT 1 FROM delivery_attempts a WHERE a.delivery_id = d.id AND a.error_code IS NOT NULL))`,
    [eventIds, channels],
  );
  return rows[0]?.n ?? 0;
}
