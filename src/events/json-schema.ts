import { z } from 'zod';
import { EVENT_TYPES, type EventType } from './event-types.js';
import {
  bookingCancelledSchema,
  bookingConfirmedSchema,
  paymentCompletedSchema,
  travelDisruptionSchema,
} from './schemas.js';

const SCHEMAS = {
  BOOKING_CONFIRMED: bookingConfirmedSchema,
  BOOKING_CANCELLED: bookingCancelledSchema,
  PAYMENT_COMPLETED: paymentCompletedSchema,
  TRAVEL_DISRUPTION: travelDisruptionSchema,
} as const;

/**
 * JSON Schema (draft 2020-12) of each event as a publisher writes it, for partners who validate before sending.
 * The rule "userEmail or userPhone" and the short form are enforced by the gateway, not expressible here.
 */
export function eventJsonSchemas(): Record<EventType, unknown> {
  return Object.fromEntries(
    EVENT_TYPES.map((type) => [
      type,
      withoutGeneratedDefaults(z.toJSONSchema(SCHEMAS[type], { io: 'input', unrepresentable: 'any' })),
    ]),
  ) as Record<EventType, unknown>;
}

/** eventId and eventTimestamp default to values made at parse time; a sample value in the schema would mislead. */
function withoutGeneratedDefaults(schema: Record<string, unknown>): Record<string, unknown> {
  const properties = schema.properties as Record<string, Record<string, unknown>> | undefined;
  for (const name of ['eventId', 'eventTimestamp']) delete properties?.[name]?.default;
  return schema;
}
