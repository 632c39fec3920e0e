import {
  eventSchema,
  type DisruptionType,
  type EventType,
  type GatewayEvent,
  type GatewayEventInput,
} from '../events/index.js';
import type { Recipient } from './renderer.js';

/**
 * Realistic events for template tests and previews: `full` fills every field the templates know, `minimal` only what
 * the contract requires. They go through the event schema, so a sample is always an event the gateway would accept.
 */

type InputOf<T extends EventType> = Extract<GatewayEventInput, { eventType: T }>;

const BOOKING = {
  bookingId: 48213,
  pnrNumber: '4521789630',
  bookingStatus: 'CONFIRMED',
  paymentStatus: 'COMPLETED',
  userId: '1001',
  userEmail: 'asha.verma@example.com',
  userPhone: '+919876543210',
  userName: 'Asha Verma',
  trainNumber: '12951',
  trainName: 'Mumbai Rajdhani Express',
  sourceStation: 'New Delhi',
  destinationStation: 'Mumbai Central',
  journeyDate: '2026-12-20',
  departureTime: '16:55:00',
  arrivalTime: '08:35:00',
  passengerName: 'Asha Verma',
  coachNumber: 'B4',
  seatNumber: '32',
  coachType: 'AC_3_TIER',
  totalFare: 3054.15,
  baseFare: 2875,
  convenienceFee: 35.4,
  gstAmount: 143.75,
  bookingDate: '2026-12-01T10:14:52+05:30',
  quotaType: 'GENERAL',
  isTatkal: false,
  bookingSource: 'WEB',
} as const;

const MINIMAL_BOOKING = { pnrNumber: '4521789630', userId: '1001', userEmail: 'asha.verma@example.com' } as const;

const ENVELOPE = { eventTimestamp: '2026-12-01T10:15:00+05:30', schemaVersion: 1 } as const;

const FULL: { [T in EventType]: InputOf<T> } = {
  BOOKING_CONFIRMED: {
    ...ENVELOPE,
    ...BOOKING,
    eventType: 'BOOKING_CONFIRMED',
    eventId: '6f1c2a9e-6b7d-4c1e-9a51-2d8e7f4b6c10',
  },
  BOOKING_CANCELLED: {
    ...ENVELOPE,
    ...BOOKING,
    eventType: 'BOOKING_CANCELLED',
    eventId: '0b7e4d52-3a1f-4c8e-8d2b-5e9f1a6c7d30',
    bookingStatus: 'CANCELLED',
    paymentStatus: 'REFUND_INITIATED',
    cancellationReason: 'Cancelled by passenger',
    refundAmount: 2630.5,
  },
  PAYMENT_COMPLETED: {
    ...ENVELOPE,
    ...BOOKING,
    eventType: 'PAYMENT_COMPLETED',
    eventId: '9a3d6e21-7c4b-4f0a-b1e8-2c5d8f9a0b41',
    paymentId: 'pay_Q8xK2mLr7TzN4b',
    paymentMethod: 'UPI',
    amountPaid: 3054.15,
  },
  TRAVEL_DISRUPTION: {
    ...ENVELOPE,
    eventType: 'TRAVEL_DISRUPTION',
    eventId: 'c4e8a1f7-2d6b-4e3c-9f05-7a1b3c5d7e92',
    disruptionType: 'FLIGHT_DELAY',
    flightNumber: '6E2131',
    journeyDate: '2026-12-20',
    destination: 'Goa (GOX)',
    payload: { minutes: 90, reason: 'fog at Delhi airport', gate: '42B' },
  },
};

const MINIMAL: { [T in EventType]: InputOf<T> } = {
  BOOKING_CONFIRMED: { eventType: 'BOOKING_CONFIRMED', ...MINIMAL_BOOKING },
  BOOKING_CANCELLED: { eventType: 'BOOKING_CANCELLED', ...MINIMAL_BOOKING },
  PAYMENT_COMPLETED: { eventType: 'PAYMENT_COMPLETED', ...MINIMAL_BOOKING },
  TRAVEL_DISRUPTION: { eventType: 'TRAVEL_DISRUPTION', disruptionType: 'FLIGHT_DELAY', flightNumber: '6E2131' },
};

/** What each kind of disruption typically carries, for previews of all seven. */
const DISRUPTIONS: Record<DisruptionType, Partial<InputOf<'TRAVEL_DISRUPTION'>>> = {
  FLIGHT_DELAY: {},
  FLIGHT_CANCELLED: { payload: { reason: 'operational reasons' } },
  TRAIN_DELAY: {
    flightNumber: undefined,
    trainNumber: '12951',
    destination: 'Mumbai Central',
    payload: { minutes: 45, reason: 'fog' },
  },
  TRAIN_CANCELLED: {
    flightNumber: undefined,
    trainNumber: '12951',
    destination: 'Mumbai Central',
    payload: { reason: 'track maintenance' },
  },
  PLATFORM_CHANGE: {
    flightNumber: undefined,
    trainNumber: '12951',
    destination: 'Mumbai Central',
    payload: { platform: '5' },
  },
  GATE_CHANGE: { payload: { gate: '42B' } },
  DESTINATION_DISRUPTION: { payload: { reason: 'heavy rain and waterlogging' } },
};

/** A sample event of `eventType`: every field filled (`full`, the default) or only the required ones. */
export function sampleEvent(eventType: EventType, { minimal = false }: { minimal?: boolean } = {}): GatewayEvent {
  return eventSchema.parse((minimal ? MINIMAL : FULL)[eventType]);
}

/** A full TRAVEL_DISRUPTION sample of one kind (flight or train as the kind suggests). */
export function sampleDisruption(disruptionType: DisruptionType): GatewayEvent {
  return eventSchema.parse({ ...FULL.TRAVEL_DISRUPTION, ...DISRUPTIONS[disruptionType], disruptionType });
}

/** The person a sample is addressed to. */
export function sampleRecipient(): Recipient {
  return { userId: BOOKING.userId, name: BOOKING.userName, email: BOOKING.userEmail, phone: BOOKING.userPhone };
}
