import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bookingConfirmed, flightDelay } from '../../test/fixtures/events.js';
import { EVENT_TYPES, eventJsonSchemas, parseEvent, partitionKeyOf, topicOf, type EventIssue } from './index.js';

function issuesOf(input: unknown): EventIssue[] {
  const result = parseEvent(input);
  if (result.ok) throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
  return result.issues;
}

describe('valid events', () => {
  it("accepts the operator's booking example and keeps a numeric userId as its decimal string", () => {
    const result = parseEvent(bookingConfirmed());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.event.eventType).toBe('BOOKING_CONFIRMED');
    expect(result.event).toMatchObject({ userId: '1', userPhone: '+919876543210', pnrNumber: '1234567890' });
    // Fields the contract does not name travel through untouched.
    expect(result.event).toMatchObject({ trainId: 1, passengerGender: 'MALE' });
    expect(topicOf(result.event)).toBe('booking-confirmed');
    expect(partitionKeyOf(result.event)).toBe('1234567890');
  });

  it('fills eventId and eventTimestamp when absent, and keeps them when given', () => {
    const { eventId: _id, eventTimestamp: _ts, ...bare } = bookingConfirmed() as Record<string, unknown>;
    const filled = parseEvent(bare);
    expect(filled.ok && filled.event.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(filled.ok && Date.parse(filled.event.eventTimestamp)).toBeGreaterThan(0);
    const kept = parseEvent(bookingConfirmed({ eventId: '7d3c5a9e-4c2b-4f7a-9a51-0c1e2d3f4a5b' }));
    expect(kept.ok && kept.event.eventId).toBe('7d3c5a9e-4c2b-4f7a-9a51-0c1e2d3f4a5b');
  });

  it('needs only eventType, pnrNumber, userId and one contact on booking and payment events', () => {
    for (const eventType of ['BOOKING_CONFIRMED', 'BOOKING_CANCELLED', 'PAYMENT_COMPLETED']) {
      expect(parseEvent({ eventType, pnrNumber: 'ABC123', userId: 'u-1', userPhone: '+14155550100' }).ok).toBe(true);
      expect(parseEvent({ eventType, pnrNumber: 'ABC123', userId: 'u-1', userEmail: 'a@b.io' }).ok).toBe(true);
    }
  });

  it("normalises the partners' short form of a disruption", () => {
    const result = parseEvent({
      type: 'FLIGHT_DELAY',
      flightNumber: 'w2121',
      payload: { minutes: 90, reason: 'weather' },
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.event).toMatchObject({
      eventType: 'TRAVEL_DISRUPTION',
      disruptionType: 'FLIGHT_DELAY',
      flightNumber: 'W2121',
      payload: { minutes: 90, reason: 'weather' },
    });
    expect(result.event).not.toHaveProperty('type');
    expect(partitionKeyOf(result.event)).toBe('W2121');
    expect(topicOf(result.event)).toBe('travel-disruption');
  });

  it("accepts a disruption's known payload fields, keeping a numeric platform as text", () => {
    const result = parseEvent(
      flightDelay({
        payload: {
          minutes: 90,
          reason: 'fog',
          platform: 5,
          gate: '42B',
          newDepartureTime: '2026-12-01T21:30:00+05:30',
        },
      }),
    );
    expect(result.ok && result.event.eventType === 'TRAVEL_DISRUPTION' && result.event.payload).toEqual({
      minutes: 90,
      reason: 'fog',
      platform: '5',
      gate: '42B',
      newDepartureTime: '2026-12-01T21:30:00+05:30',
    });
  });

  it('accepts text in any script, emoji included (a well-formed surrogate pair)', () => {
    expect(parseEvent(bookingConfirmed({ userName: 'आशा राव 😀' })).ok).toBe(true);
  });

  it('keys a train disruption on its train number', () => {
    const result = parseEvent({ type: 'TRAIN_DELAY', trainNumber: '12951', journeyDate: '2026-12-01' });
    expect(result.ok && partitionKeyOf(result.event)).toBe('12951');
  });
});

describe('invalid events are rejected naming the field', () => {
  const cases: Array<[string, unknown, string]> = [
    ['not an object', 'hello', ''],
    ['an array', [bookingConfirmed()], ''],
    ['no event type', { pnrNumber: '1234567890' }, 'eventType'],
    ['unknown event type', { eventType: 'BOOKING_EXPLODED' }, 'eventType'],
    ['unknown short-form type', { type: 'SHIP_SANK', flightNumber: 'W2121' }, 'type'],
    ['missing pnrNumber', bookingConfirmed({ pnrNumber: undefined }), 'pnrNumber'],
    ['pnrNumber with symbols', bookingConfirmed({ pnrNumber: '12-34' }), 'pnrNumber'],
    ['missing userId', bookingConfirmed({ userId: undefined }), 'userId'],
    ['empty userId', bookingConfirmed({ userId: '  ' }), 'userId'],
    ['negative userId', bookingConfirmed({ userId: -4 }), 'userId'],
    ['no contact at all', bookingConfirmed({ userEmail: undefined, userPhone: undefined }), 'userEmail'],
    ['bad email', bookingConfirmed({ userEmail: 'not-an-email' }), 'userEmail'],
    ['bad phone', bookingConfirmed({ userPhone: '12' }), 'userPhone'],
    ['bad eventId', bookingConfirmed({ eventId: 'abc' }), 'eventId'],
    ['bad eventTimestamp', bookingConfirmed({ eventTimestamp: 'yesterday' }), 'eventTimestamp'],
    ['bad journeyDate', bookingConfirmed({ journeyDate: '15/01/2024' }), 'journeyDate'],
    ['bad departureTime', bookingConfirmed({ departureTime: '4pm' }), 'departureTime'],
    ['negative fare', bookingConfirmed({ totalFare: -1 }), 'totalFare'],
    ['fare as text', bookingConfirmed({ totalFare: '5000' }), 'totalFare'],
    ['isTatkal as text', bookingConfirmed({ isTatkal: 'yes' }), 'isTatkal'],
    ['disruption without flight or train', flightDelay({ flightNumber: undefined }), 'flightNumber'],
    ['unknown disruption type', flightDelay({ disruptionType: 'VOLCANO' }), 'disruptionType'],
    ['payload not an object', flightDelay({ payload: 'late' }), 'payload'],
    ['bad flight number', flightDelay({ flightNumber: 'W2 121!' }), 'flightNumber'],
    // PostgreSQL stores neither NUL nor a lone surrogate, in text or jsonb: refused here, not at the first INSERT.
    ['NUL in a named field', bookingConfirmed({ userName: 'A\u0000B' }), 'userName'],
    ['NUL in a field the contract does not name', bookingConfirmed({ remarks: { note: 'x\u0000' } }), 'remarks.note'],
    ['NUL in an array item', bookingConfirmed({ tags: ['ok', 'no\u0000'] }), 'tags.1'],
    ['NUL in a field name', bookingConfirmed({ extra: { 'bad\u0000key': 1 } }), 'extra'],
    ['lone surrogate', bookingConfirmed({ userName: 'Asha \ud800' }), 'userName'],
    ['NUL in a disruption reason', flightDelay({ payload: { reason: 'fog\u0000' } }), 'payload.reason'],
    [
      'nesting past the bound',
      bookingConfirmed({ deep: JSON.parse('['.repeat(50) + ']'.repeat(50)) }),
      'deep.0.0.0.0.0.0.0',
    ],
    ['minutes as words', flightDelay({ payload: { minutes: 'ninety' } }), 'payload.minutes'],
    ['minutes as a fraction', flightDelay({ payload: { minutes: 1.5 } }), 'payload.minutes'],
    ['minutes negative', flightDelay({ payload: { minutes: -5 } }), 'payload.minutes'],
    ['minutes past a week', flightDelay({ payload: { minutes: 20_000 } }), 'payload.minutes'],
    ['reason too long', flightDelay({ payload: { reason: 'x'.repeat(201) } }), 'payload.reason'],
    ['reason not text', flightDelay({ payload: { reason: { why: 'fog' } } }), 'payload.reason'],
    ['platform with symbols', flightDelay({ payload: { platform: '<b>5</b>' } }), 'payload.platform'],
    ['gate too long', flightDelay({ payload: { gate: 'G'.repeat(11) } }), 'payload.gate'],
    [
      'new departure time not a time',
      flightDelay({ payload: { newDepartureTime: 'soon' } }),
      'payload.newDepartureTime',
    ],
    ['unknown payload field', flightDelay({ payload: { minutes: 5, colour: 'red' } }), 'payload.colour'],
  ];

  it.each(cases)('%s', (_name, input, field) => {
    const issues = issuesOf(input);
    expect(issues.map((i) => i.path)).toContain(field);
    for (const issue of issues) expect(issue.message.length).toBeGreaterThan(3);
  });

  it('names the allowed event types when the type is unknown', () => {
    const [issue] = issuesOf({ eventType: 'NOPE' });
    for (const type of EVENT_TYPES) expect(issue!.message).toContain(type);
  });

  it('rejects any booking without a pnrNumber, whatever else it holds', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (extra) => {
        const { pnrNumber: _drop, ...rest } = { ...extra, ...(bookingConfirmed() as object) } as Record<
          string,
          unknown
        >;
        return issuesOf(rest).some((i) => i.path === 'pnrNumber');
      }),
    );
  });
});

describe('JSON Schema export', () => {
  it('describes each event type with its required fields', () => {
    const schemas = eventJsonSchemas() as Record<string, { required?: string[]; properties: Record<string, unknown> }>;
    expect(Object.keys(schemas).sort()).toEqual([...EVENT_TYPES].sort());
    expect(schemas.BOOKING_CONFIRMED!.required).toEqual(expect.arrayContaining(['eventType', 'pnrNumber', 'userId']));
    expect(schemas.TRAVEL_DISRUPTION!.required).toEqual(expect.arrayContaining(['eventType', 'disruptionType']));
    expect(schemas.BOOKING_CONFIRMED!.properties.eventId).not.toHaveProperty('default');
  });
});
