import { DateTime } from 'luxon';
import type { EventType } from '../events/index.js';
import type { QuietHours } from './profile.js';

/** Events a traveller must hear about at once, whatever the hour. */
export const URGENT_EVENTS: ReadonlySet<EventType> = new Set(['TRAVEL_DISRUPTION', 'BOOKING_CANCELLED']);

/** Channels that buzz a phone: the only ones quiet hours hold back. */
export const QUIET_CHANNELS = new Set(['sms', 'whatsapp']);

const secondsOfDay = (clock: string) => {
  const [h = 0, m = 0, s = 0] = clock.split(':').map(Number);
  return h * 3600 + m * 60 + s;
};

/**
 * When the person's quiet window ends, if `now` is inside it; undefined otherwise. Start and end are wall-clock times
 * in their time zone; a window whose end is before its start runs over midnight (22:00–07:00). Luxon does the zone
 * arithmetic, so the end is right across daylight-saving changes.
 */
export function quietUntil(quiet: QuietHours, now: Date = new Date()): Date | undefined {
  const local = DateTime.fromJSDate(now, { zone: quiet.timeZone });
  if (!local.isValid) return undefined;
  const start = secondsOfDay(quiet.start);
  const end = secondsOfDay(quiet.end);
  if (start === end) return undefined;
  const t = local.hour * 3600 + local.minute * 60 + local.second;
  const inside = start < end ? t >= start && t < end : t >= start || t < end;
  if (!inside) return undefined;
  const endsTomorrow = start > end && t >= start;
  const day = endsTomorrow ? local.plus({ days: 1 }) : local;
  // Wall-clock set, not seconds added: on a daylight-saving day the two differ by an hour.
  return day
    .set({ hour: Math.floor(end / 3600), minute: Math.floor(end / 60) % 60, second: end % 60, millisecond: 0 })
    .toJSDate();
}
