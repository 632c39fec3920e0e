import { DISRUPTION_TYPES, EVENT_TYPES, TOPIC_BY_EVENT_TYPE, type EventTopic } from './event-types.js';
import { eventSchema, type GatewayEvent } from './schemas.js';
import { GatewayError } from '../errors/gateway-error.js';
import { issuesByPath } from '../util/zod-issues.js';

/** One problem with an incoming event: where it is (dotted path, empty for the whole body) and what is wrong. */
export interface EventIssue {
  path: string;
  message: string;
}

export type ParseResult = { ok: true; event: GatewayEvent } | { ok: false; issues: EventIssue[] };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Rewrites the partners' short form `{ type: "FLIGHT_DELAY", flightNumber, payload }` into the canonical envelope.
 * `type` may also name one of the four event types directly. Anything else is returned unchanged for the schema to judge.
 */
export function normaliseEvent(input: unknown): unknown {
  if (!isRecord(input) || 'eventType' in input || typeof input.type !== 'string') return input;
  const { type, ...rest } = input;
  if ((DISRUPTION_TYPES as readonly string[]).includes(type)) {
    return { ...rest, eventType: 'TRAVEL_DISRUPTION', disruptionType: type };
  }
  return { ...rest, eventType: type };
}

/**
 * The operator's Java services serialise empty fields as null (and forms send ""): both mean "absent", so an optional
 * field left empty is not an error, and a required one is reported as missing.
 */
function withoutEmptyFields(input: unknown): unknown {
  if (!isRecord(input)) return input;
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null && value !== ''));
}

/** Normalises and validates one event, filling eventId and eventTimestamp when absent. Never throws. */
export function parseEvent(input: unknown): ParseResult {
  const candidate = normaliseEvent(withoutEmptyFields(input));
  if (!isRecord(candidate)) return { ok: false, issues: [{ path: '', message: 'event must be a JSON object' }] };
  const eventType = candidate.eventType;
  if (!(EVENT_TYPES as readonly unknown[]).includes(eventType)) {
    const allowed = [...EVENT_TYPES, ...DISRUPTION_TYPES.map((t) => `type ${t}`)].join(', ');
    const shortForm = isRecord(input) && !('eventType' in input) && 'type' in input;
    const path = shortForm ? 'type' : 'eventType';
    const seen = eventType === undefined ? 'missing' : `unknown event type ${JSON.stringify(eventType)}`;
    return { ok: false, issues: [{ path, message: `${seen}; allowed: ${allowed}` }] };
  }
  const parsed = eventSchema.safeParse(candidate);
  return parsed.success ? { ok: true, event: parsed.data } : { ok: false, issues: issuesByPath(parsed.error.issues) };
}

/** Raised by code paths that must not go on with an invalid event (the producer, the bridge). */
export class InvalidEventError extends GatewayError<'EVENT_INVALID'> {
  constructor(readonly issues: EventIssue[]) {
    super(`Invalid event: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`, {
      code: 'EVENT_INVALID',
      retriable: false,
    });
    this.name = 'InvalidEventError';
  }
}

/** Like parseEvent, but throws InvalidEventError. */
export function assertEvent(input: unknown): GatewayEvent {
  const result = parseEvent(input);
  if (!result.ok) throw new InvalidEventError(result.issues);
  return result.event;
}

/** Kafka key: one per booking (PNR) so a booking's events stay in order; a disruption keys on its flight or train. */
export function partitionKeyOf(event: GatewayEvent): string {
  if (event.eventType === 'TRAVEL_DISRUPTION') return (event.flightNumber ?? event.trainNumber)!;
  return event.pnrNumber;
}

export function topicOf(event: GatewayEvent): EventTopic {
  return TOPIC_BY_EVENT_TYPE[event.eventType];
}
