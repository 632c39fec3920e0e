import { DEFAULT_ROUTING, type Channel, type EventType, type GatewayEvent } from '../events/index.js';

export interface QuietHours {
  start: string;
  end: string;
  timeZone: string;
}

/** A person as the consumers need them: where to reach them, in which language, and what they want to receive. */
export interface UserProfile {
  userId: string;
  name?: string;
  email?: string;
  phone?: string;
  whatsappOptIn: boolean;
  locale: string;
  /** Global switch per channel. */
  channels: Partial<Record<Channel, boolean>>;
  /** Per event type and channel; absent means "as the routing table says". */
  eventChannels: Partial<Record<EventType, Partial<Record<Channel, boolean>>>>;
  quietHours?: QuietHours;
  /**
   * Delay notices for a smaller delay are not sent: the person's own threshold, or, for a disruption, the one they set
   * on the disrupted journey's itinerary.
   */
  minDelayMinutes?: number;
  /** Set for a person who asked to be erased: they are never a recipient again, whatever an event says. */
  erased?: boolean;
}

/** The row shape of `users LEFT JOIN preferences`, shared by the repository and the recipient queries. */
export interface ProfileRow {
  user_id: string;
  name: string | null;
  email: string | null;
  phone: string | null;
  whatsapp_opt_in: boolean;
  locale: string;
  channels: Record<string, boolean> | null;
  event_channels: Record<string, Record<string, boolean>> | null;
  quiet_start: string | null;
  quiet_end: string | null;
  quiet_time_zone: string | null;
  min_delay_minutes: number | null;
}

export const PROFILE_COLUMNS = `u.user_id, u.name, u.email, u.phone, u.whatsapp_opt_in, u.locale,
  p.channels, p.event_channels, p.quiet_start::text, p.quiet_end::text, p.quiet_time_zone,
  p.min_delay_minutes`;

export function profileFromRow(row: ProfileRow): UserProfile {
  return {
    userId: row.user_id,
    ...(row.name && { name: row.name }),
    ...(row.email && { email: row.email }),
    ...(row.phone && { phone: row.phone }),
    whatsappOptIn: row.whatsapp_opt_in,
    locale: row.locale,
    channels: row.channels ?? {},
    eventChannels: (row.event_channels ?? {}) as UserProfile['eventChannels'],
    ...(row.quiet_start &&
      row.quiet_end &&
      row.quiet_time_zone && {
        quietHours: { start: row.quiet_start, end: row.quiet_end, timeZone: row.quiet_time_zone },
      }),
    ...(row.min_delay_minutes !== null && { minDelayMinutes: row.min_delay_minutes }),
  };
}

/**
 * What remains of an erased person: their id and a tombstone. Booking events still carry their contact details, so
 * recipient lookups merge those in; every channel being off (and `erased`) is what keeps them from being used.
 */
export function erasedProfile(userId: string): UserProfile {
  return {
    userId,
    erased: true,
    whatsappOptIn: false,
    locale: 'en',
    channels: { email: false, sms: false, whatsapp: false, websocket: false },
    eventChannels: {},
  };
}

/**
 * Whether this person gets this event on this channel: an erased person gets nothing; a channel switched off globally
 * is off for every event; otherwise their choice for the event type, and failing that the operator's routing table.
 */
export function channelEnabled(profile: UserProfile | undefined, eventType: EventType, channel: Channel): boolean {
  if (profile?.erased || profile?.channels[channel] === false) return false;
  return profile?.eventChannels[eventType]?.[channel] ?? DEFAULT_ROUTING[eventType].includes(channel);
}

/** The delay an event reports, when it is a delay notice: what a traveller's threshold is compared with. */
export function delayMinutesOf(event: GatewayEvent): number | undefined {
  if (event.eventType !== 'TRAVEL_DISRUPTION') return undefined;
  const minutes = (event.payload as { minutes?: unknown } | undefined)?.minutes;
  return typeof minutes === 'number' ? minutes : undefined;
}

/** Why this person does not want this event, when it is a delay under their threshold; undefined otherwise. */
export function belowThreshold(profile: UserProfile, event: GatewayEvent): string | undefined {
  const minutes = delayMinutesOf(event);
  const threshold = profile.minDelayMinutes;
  if (minutes === undefined || threshold === undefined || minutes >= threshold) return undefined;
  return `a ${minutes}-minute delay is under the traveller's ${threshold}-minute threshold`;
}
