import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DISRUPTION_TYPES } from './event-types.js';
import { toE164 } from './phone.js';
import { checkStorable } from './storable.js';

/**
 * Zod contracts for the four events, shared by HTTP ingestion, the bridge, the producer and the consumers.
 * Objects are loose: fields the operator adds later travel through untouched instead of being dropped. Every string in
 * an event, named or not, must be one PostgreSQL can store (see storable.ts), and a disruption's payload is typed.
 */

const text = (max = 200) => z.string().trim().min(1).max(max);
const clockTime = z.iso.time({ error: 'must be a time HH:MM or HH:MM:SS' });
const money = z.number().nonnegative();

const envelope = {
  eventId: z.uuid().default(() => randomUUID()),
  eventTimestamp: z.iso.datetime({ offset: true, local: true }).default(() => new Date().toISOString()),
  schemaVersion: z.number().int().positive().default(1),
};

/** A number is accepted and kept as its decimal string, as the operator's systems send numeric user ids. */
const userId = z.union([text(128), z.number().int().nonnegative()]).transform(String);

const phone = z
  .string()
  .trim()
  .transform((raw, ctx) => {
    const e164 = toE164(raw);
    if (!e164)
      ctx.addIssue({
        code: 'custom',
        message: 'must be a phone number, in E.164 (+<country><number>) or national form',
      });
    return e164 ?? raw;
  });

const vehicleNumber = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9]{2,10}$/, 'must be 2 to 10 letters or digits')
  .transform((value) => value.toUpperCase());

const pnrNumber = z
  .union([z.string().trim(), z.number().int().nonnegative().transform(String)])
  .pipe(z.string().regex(/^[A-Za-z0-9]{5,16}$/, 'must be 5 to 16 letters or digits'));

const booking = {
  ...envelope,
  pnrNumber,
  userId,
  userEmail: z.email().optional(),
  userPhone: phone.optional(),
  userName: text().optional(),
  bookingId: z.union([text(64), z.number().int()]).optional(),
  bookingStatus: text(40).optional(),
  paymentStatus: text(40).optional(),
  trainNumber: vehicleNumber.optional(),
  trainName: text().optional(),
  flightNumber: vehicleNumber.optional(),
  sourceStation: text().optional(),
  destinationStation: text().optional(),
  journeyDate: z.iso.date().optional(),
  departureTime: z.iso.time().optional(),
  arrivalTime: z.iso.time().optional(),
  passengerName: text().optional(),
  coachNumber: text(10).optional(),
  seatNumber: z.union([text(10), z.number().int().transform(String)]).optional(),
  coachType: text(40).optional(),
  totalFare: money.optional(),
  baseFare: money.optional(),
  convenienceFee: money.optional(),
  gstAmount: money.optional(),
  bookingDate: z.iso.datetime({ offset: true, local: true }).optional(),
  quotaType: text(40).optional(),
  isTatkal: z.boolean().optional(),
  bookingSource: text(40).optional(),
};

/** A booking or payment message must reach someone: an email address or a phone number. */
function requireContact(
  value: { userEmail?: string | undefined; userPhone?: string | undefined },
  ctx: z.RefinementCtx,
) {
  if (!value.userEmail && !value.userPhone) {
    ctx.addIssue({ code: 'custom', path: ['userEmail'], message: 'userEmail or userPhone is required' });
  }
}

export const bookingConfirmedSchema = z
  .looseObject({ eventType: z.literal('BOOKING_CONFIRMED'), ...booking })
  .superRefine(requireContact)
  .superRefine(checkStorable);

export const bookingCancelledSchema = z
  .looseObject({
    eventType: z.literal('BOOKING_CANCELLED'),
    ...booking,
    cancellationReason: text(500).optional(),
    refundAmount: money.optional(),
  })
  .superRefine(requireContact)
  .superRefine(checkStorable);

export const paymentCompletedSchema = z
  .looseObject({
    eventType: z.literal('PAYMENT_COMPLETED'),
    ...booking,
    paymentId: text(100).optional(),
    paymentMethod: text(40).optional(),
    amountPaid: money.optional(),
  })
  .superRefine(requireContact)
  .superRefine(checkStorable);

/** A platform or gate as shown on a board: "5", "12A", "B 7". A number is kept as its decimal string. */
const boardLabel = z
  .union([z.string().trim(), z.number().int().nonnegative().transform(String)], {
    error: 'must be a string or a whole number',
  })
  .pipe(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 -]{0,9}$/, 'must be 1 to 10 letters, digits, spaces or hyphens'));

/** The longest delay an alert can announce: a week. Beyond that it is a cancellation, or a typo. */
export const MAX_DELAY_MINUTES = 10_080;

/**
 * What a disruption says beyond its type, as the templates use it. Typed and bounded because it is rendered into
 * every channel: a reason is one short sentence (an SMS has 1,600 characters in all), a delay a whole number of minutes.
 */
export const disruptionPayloadSchema = z.strictObject(
  {
    minutes: z
      .number({ error: 'must be a whole number of minutes' })
      .int('must be a whole number of minutes')
      .min(1, `must be from 1 to ${MAX_DELAY_MINUTES} minutes`)
      .max(MAX_DELAY_MINUTES, `must be from 1 to ${MAX_DELAY_MINUTES} minutes`)
      .optional(),
    reason: z
      .string({ error: 'must be a string' })
      .trim()
      .min(1, 'must not be empty')
      .max(200, 'must be at most 200 characters')
      .optional(),
    platform: boardLabel.optional(),
    gate: boardLabel.optional(),
    newDepartureTime: z
      .union([z.iso.datetime({ offset: true, local: true }), clockTime], {
        error: 'must be an ISO-8601 date-time or a time HH:MM[:SS]',
      })
      .optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? 'unknown field; a payload takes minutes, reason, platform, gate, newDepartureTime'
        : undefined,
  },
);

export const travelDisruptionSchema = z
  .looseObject({
    eventType: z.literal('TRAVEL_DISRUPTION'),
    ...envelope,
    disruptionType: z.enum(DISRUPTION_TYPES),
    flightNumber: vehicleNumber.optional(),
    trainNumber: vehicleNumber.optional(),
    journeyDate: z.iso.date().optional(),
    /** The scheduled departure: a notice still unsent some time after it is of no use, and is never sent late. */
    departureTime: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time with its offset' }).optional(),
    destination: text().optional(),
    payload: disruptionPayloadSchema.default({}),
  })
  .superRefine((value, ctx) => {
    if (!value.flightNumber && !value.trainNumber) {
      ctx.addIssue({ code: 'custom', path: ['flightNumber'], message: 'flightNumber or trainNumber is required' });
    }
  })
  .superRefine(checkStorable);

export const eventSchema = z.discriminatedUnion('eventType', [
  bookingConfirmedSchema,
  bookingCancelledSchema,
  paymentCompletedSchema,
  travelDisruptionSchema,
]);

export type BookingConfirmedEvent = z.output<typeof bookingConfirmedSchema>;
export type BookingCancelledEvent = z.output<typeof bookingCancelledSchema>;
export type PaymentCompletedEvent = z.output<typeof paymentCompletedSchema>;
export type TravelDisruptionEvent = z.output<typeof travelDisruptionSchema>;
export type BookingEvent = BookingConfirmedEvent | BookingCancelledEvent | PaymentCompletedEvent;
/** An event as it travels on Kafka: validated, normalised, with eventId and eventTimestamp filled in. */
export type GatewayEvent = z.output<typeof eventSchema>;
/** An event as a publisher may write it: eventId, eventTimestamp and schemaVersion may be left out. */
export type GatewayEventInput = z.input<typeof eventSchema>;
