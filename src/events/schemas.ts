import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DISRUPTION_TYPES } from './event-types.js';
import { toE164 } from './phone.js';

/**
 * Zod contracts for the four events, shared by HTTP ingestion, the bridge, the producer and the consumers.
 * Objects are loose: fields the operator adds later travel through untouched instead of being dropped.
 */

const text = (max = 200) => z.string().trim().min(1).max(max);
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
    if (!e164) ctx.addIssue({ code: 'custom', message: 'must be a phone number, in E.164 (+<country><number>) or national form' });
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
function requireContact(value: { userEmail?: string | undefined; userPhone?: string | undefined }, ctx: z.RefinementCtx) {
  if (!value.userEmail && !value.userPhone) {
    ctx.addIssue({ code: 'custom', path: ['userEmail'], message: 'userEmail or userPhone is required' });
  }
}

export const bookingConfirmedSchema = z
  .looseObject({ eventType: z.literal('BOOKING_CONFIRMED'), ...booking })
  .superRefine(requireContact);

export const bookingCancelledSchema = z
  .looseObject({
    eventType: z.literal('BOOKING_CANCELLED'),
    ...booking,
    cancellationReason: text(500).optional(),
    refundAmount: money.optional(),
  })
  .superRefine(requireContact);

export const paymentCompletedSchema = z
  .looseObject({
    eventType: z.literal('PAYMENT_COMPLETED'),
    ...booking,
    paymentId: text(100).optional(),
    paymentMethod: text(40).optional(),
    amountPaid: money.optional(),
  })
  .superRefine(requireContact);

export const travelDisruptionSchema = z
  .looseObject({
    eventType: z.literal('TRAVEL_DISRUPTION'),
    ...envelope,
    disruptionType: z.enum(DISRUPTION_TYPES),
    flightNumber: vehicleNumber.optional(),
    trainNumber: vehicleNumber.optional(),
    journeyDate: z.iso.date().optional(),
    destination: text().optional(),
    payload: z.record(z.string(), z.unknown()).default({}),
  })
  .superRefine((value, ctx) => {
    if (!value.flightNumber && !value.trainNumber) {
      ctx.addIssue({ code: 'custom', path: ['flightNumber'], message: 'flightNumber or trainNumber is required' });
    }
  });

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
