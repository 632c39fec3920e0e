import { DISRUPTION_TYPES, type DisruptionType } from './event-types.js';
import type { GatewayEvent } from './schemas.js';

/** Minutes after the departure each disruption notice is still of use. */
export type ExpiryGrace = Record<DisruptionType, number>;

/**
 * A delay is of use until a little after the (new) departure; a gate or platform change only until the train or
 * plane has left; a cancellation or a diversion for hours, while people rebook. EXPIRY_GRACE_MINUTES overrides these.
 */
export const DEFAULT_EXPIRY_GRACE: ExpiryGrace = {
  FLIGHT_DELAY: 30,
  TRAIN_DELAY: 15,
  FLIGHT_CANCELLED: 240,
  TRAIN_CANCELLED: 240,
  PLATFORM_CHANGE: 0,
  GATE_CHANGE: 0,
  DESTINATION_DISRUPTION: 240,
};

/** A full date-time (a bare HH:MM has no day to compare with). */
const instant = (value: unknown): number | undefined => {
  if (typeof value !== 'string' || !value.includes('T')) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : at;
};

/**
 * Until when the notice is of use: the departure (the new one, for a delay that gives it as a date-time) plus the
 * grace for its type. Undefined for an event with no departure time, which never expires.
 */
export function usefulUntil(event: GatewayEvent, grace: ExpiryGrace): Date | undefined {
  if (event.eventType !== 'TRAVEL_DISRUPTION') return undefined;
  const departure = instant(event.payload?.newDepartureTime) ?? instant(event.departureTime);
  if (departure === undefined) return undefined;
  return new Date(departure + grace[event.disruptionType] * 60_000);
}

export const isDisruptionType = (value: string): value is DisruptionType =>
  (DISRUPTION_TYPES as readonly string[]).includes(value);
