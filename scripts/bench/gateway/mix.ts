/**
 * The sustained mix: mostly booking confirmations for the bench's travellers, some payments and cancellations, and
 * one train delay a second for the travellers on one of three trains. The deliveries each event makes follow the
 * gateway's routing table (DEFAULT_ROUTING), so the events/s for a target deliveries/s is computed, not guessed.
 */
import { DEFAULT_ROUTING, type Channel, type EventType, type GatewayEventInput } from '../../../src/events/index.js';
import type { Traveller } from './travellers.js';

/** Shares of the booking-type events; disruptions come on their own clock. */
export const BOOKING_SHARES = { BOOKING_CONFIRMED: 0.9, PAYMENT_COMPLETED: 0.05, BOOKING_CANCELLED: 0.05 } as const;
/**
 * Deliveries per event on average: the booking-type events make ~3.85, the train delays (one a second, to ~290
 * travellers at 5,000/s) make up the rest. So the 5,000 deliveries/s are 1,000 events/s, the rate at which
 * the websocket latency is wanted, and one phase measures both.
 */
export const DELIVERIES_PER_EVENT = 5;
/** Trains disrupted in turn; each phase names its own (S1…, W1…) so that their riders never mix. */
export const DISRUPTION_TRAIN_COUNT = 3;

export interface Mix {
  /** Target deliveries/s. */
  rate: number;
  bookingEventsPerSec: number;
  /** Travellers on each disruption train; one disruption a second. */
  disruptionTravellers: number;
  eventsPerSec: number;
  deliveriesPerBookingEvent: number;
}

const channelsOf = (type: EventType) => DEFAULT_ROUTING[type].length;

export function mixFor(rate: number, users: number): Mix {
  const deliveriesPerBookingEvent = (Object.entries(BOOKING_SHARES) as Array<[EventType, number]>).reduce(
    (sum, [type, share]) => sum + share * channelsOf(type),
    0,
  );
  const bookingTarget = Math.max(0, rate / DELIVERIES_PER_EVENT - 1);
  // What the bookings leave of the target goes to the train delay, within the travellers there are to put on trains.
  const wanted = Math.round((rate - bookingTarget * deliveriesPerBookingEvent) / channelsOf('TRAVEL_DISRUPTION'));
  const disruptionTravellers = Math.max(1, Math.min(Math.floor(users / DISRUPTION_TRAIN_COUNT), wanted));
  const bookingEventsPerSec = Math.max(
    0,
    (rate - disruptionTravellers * channelsOf('TRAVEL_DISRUPTION')) / deliveriesPerBookingEvent,
  );
  return {
    rate,
    bookingEventsPerSec,
    disruptionTravellers,
    eventsPerSec: bookingEventsPerSec + 1,
    deliveriesPerBookingEvent,
  };
}

/** The mix whose events/s is `eventsPerSec` (the websocket latency phase runs at 1,000 events/s). */
export const mixForEvents = (eventsPerSec: number, users: number): Mix =>
  mixFor(eventsPerSec * DELIVERIES_PER_EVENT, users);

/** Which traveller is on which disruption train: disjoint slices of the sustained population. */
export const disruptionRiders = (travellers: Traveller[], mix: Mix, train: number): Traveller[] =>
  travellers.slice(train * mix.disruptionTravellers, (train + 1) * mix.disruptionTravellers);

/** Builds the events of one run; PNRs are unique to it (P + run id + sequence). */
export function createEventFactory(runId: string, travellers: Traveller[]) {
  let seq = 0;
  let userCursor = 0;
  // Cancellations and payments concern bookings confirmed a while ago.
  const recent: Array<{ traveller: Traveller; pnr: string }> = [];

  const bookingFields = (traveller: Traveller, pnr: string) => ({
    pnrNumber: pnr,
    userId: traveller.userId,
    userEmail: traveller.email,
    userPhone: traveller.phone,
    userName: traveller.name,
    bookingId: `BK${pnr}`,
    trainNumber: `13${String(seq % 1000).padStart(3, '0')}`,
    trainName: 'Rajdhani Express',
    sourceStation: 'New Delhi',
    destinationStation: 'Mumbai Central',
    journeyDate: '2026-03-15',
    departureTime: '16:00:00',
    arrivalTime: '08:30:00',
    passengerName: traveller.name,
    coachNumber: 'A1',
    seatNumber: String(1 + (seq % 72)),
    coachType: 'AC_FIRST_CLASS',
    totalFare: 5000,
    baseFare: 4500,
    convenienceFee: 90,
    gstAmount: 225,
    quotaType: 'GENERAL',
    isTatkal: false,
    bookingSource: 'WEB',
  });

  /** One booking-type event, chosen by the shares above; a booking never cancels before it was confirmed. */
  function booking(eventTimestamp: string): GatewayEventInput {
    seq += 1;
    const pick = (seq * 0.6180339887) % 1; // evenly spread, reproducible
    const earlier = recent.length >= 100 ? recent[seq % recent.length] : undefined;
    if (earlier && pick < BOOKING_SHARES.PAYMENT_COMPLETED) {
      return {
        eventType: 'PAYMENT_COMPLETED',
        eventTimestamp,
        ...bookingFields(earlier.traveller, earlier.pnr),
        paymentStatus: 'PAID',
        amountPaid: 5000,
        paymentMethod: 'UPI',
      };
    }
    if (earlier && pick < BOOKING_SHARES.PAYMENT_COMPLETED + BOOKING_SHARES.BOOKING_CANCELLED) {
      return {
        eventType: 'BOOKING_CANCELLED',
        eventTimestamp,
        ...bookingFields(earlier.traveller, earlier.pnr),
        bookingStatus: 'CANCELLED',
        cancellationReason: 'changed plans',
        refundAmount: 4500,
      };
    }
    const traveller = travellers[userCursor++ % travellers.length]!;
    const pnr = newPnr();
    if (recent.length < 1000) recent.push({ traveller, pnr });
    else recent[seq % 1000] = { traveller, pnr };
    return confirmed(traveller, pnr, eventTimestamp);
  }

  const newPnr = () => `P${runId}${seq.toString(36).toUpperCase().padStart(7, '0')}`;
  const confirmed = (traveller: Traveller, pnr: string, eventTimestamp: string): GatewayEventInput => ({
    eventType: 'BOOKING_CONFIRMED',
    eventTimestamp,
    ...bookingFields(traveller, pnr),
    bookingStatus: 'CONFIRMED',
    paymentStatus: 'PENDING',
  });

  /** A booking confirmation for `traveller` on a new PNR, nothing else: the rate part's burst, one per traveller. */
  function confirmation(traveller: Traveller, eventTimestamp: string): GatewayEventInput {
    seq += 1;
    return confirmed(traveller, newPnr(), eventTimestamp);
  }

  function disruption(trainNumber: string, eventTimestamp: string): GatewayEventInput {
    return {
      eventType: 'TRAVEL_DISRUPTION',
      eventTimestamp,
      disruptionType: 'TRAIN_DELAY',
      trainNumber,
      payload: { minutes: 45, reason: 'signal failure' },
    };
  }

  return { booking, confirmation, disruption };
}

/** The deliveries an event makes on each channel when it reaches `recipients` people. */
export function deliveriesOf(type: EventType, recipients = 1): Partial<Record<Channel, number>> {
  return Object.fromEntries(DEFAULT_ROUTING[type].map((channel) => [channel, recipients]));
}
