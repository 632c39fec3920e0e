import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvent } from '../src/events/index.js';
import { eventQueues, type EventQueues } from '../src/queue/event-queues.js';
import { composeApi, type ComposedApi } from '../src/roles/api.role.js';
import { bookingConfirmed } from './fixtures/events.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';
import { waitFor } from './helpers/wait-for.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const GOOD_HEADERS: Record<string, string> = { 'x-api-key': 'dev-ingest-key', 'content-type': 'application/json' };
const GOOD = { type: 'FLIGHT_DELAY', flightNumber: 'W2121', payload: { minutes: 90, reason: 'weather' } };

/** A body sent as is, not JSON-encoded. */
class Raw {
  constructor(readonly text: string) {}
}
const raw = (text: string) => new Raw(text);
/** A booking as the operator sends it, without eventId so every send is a new event; `undefined` drops a field. */
const booking = (overrides: Record<string, unknown> = {}) =>
  bookingConfirmed({ eventId: undefined, ...overrides }) as Record<string, unknown>;

let app: FastifyInstance;
let api: ComposedApi;
let queues: EventQueues;
let admin: amqp.ChannelModel;
let channel: amqp.Channel;
/** eventIds answered 202 that were not idempotent replays: exactly these must be in the queue. */
const accepted: string[] = [];

/** POSTs to /events with the good headers, overridden (an `undefined` header is left out). */
async function post(body: unknown, headers: Record<string, string | undefined> = {}): Promise<LightMyRequestResponse> {
  const merged = Object.fromEntries(
    Object.entries({ ...GOOD_HEADERS, ...headers }).filter(([, v]) => v !== undefined),
  ) as Record<string, string>;
  const payload = body instanceof Raw ? body.text : JSON.stringify(body);
  const res = await app.inject({
    method: 'POST',
    url: '/events',
    headers: merged,
    ...(payload !== undefined && { payload }),
  });
  if (res.statusCode === 202 && res.headers['idempotent-replayed'] !== 'true')
    accepted.push(res.json<{ eventId: string }>().eventId);
  return res;
}

function expectJsonError(res: LightMyRequestResponse, status: number) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json<{ error: unknown; message: unknown; details?: { path: string; message: string }[] }>();
  expect(typeof body.error).toBe('string');
  expect(typeof body.message).toBe('string');
  return body;
}

async function expectStillServing() {
  const res = await post(GOOD);
  expect(res.statusCode, res.body).toBe(202);
  expect(res.json<{ eventId: string }>().eventId).toMatch(UUID);
}

beforeAll(async () => {
  const config = testConfig(uniquePrefix('ingest-validation'));
  queues = eventQueues(config.AMQP_QUEUE_PREFIX);
  api = await composeApi(config, testLogger, { name: 'test' });
  app = api.app;
  await waitFor('the event queue publisher to connect', () => api.eventQueue.isConnected());
  admin = await amqp.connect(config.AMQP_URL);
  channel = await admin.createChannel();
});

afterAll(async () => {
  await api?.close();
  if (channel) {
    await channel.deleteQueue(queues.events);
    await channel.deleteQueue(queues.deadLetters);
  }
  await admin?.close();
});

describe('POST /events refuses bad requests and keeps serving', () => {
  interface Case {
    name: string;
    body: unknown;
    headers?: Record<string, string | undefined>;
    status: number;
    path?: string;
    message?: RegExp;
  }
  const cases: Case[] = [
    { name: 'no x-api-key', body: GOOD, headers: { 'x-api-key': undefined }, status: 401, path: 'x-api-key' },
    { name: 'wrong x-api-key', body: GOOD, headers: { 'x-api-key': 'not-a-key' }, status: 401, path: 'x-api-key' },
    {
      name: 'wrong x-api-key, bad body: the key is judged first',
      body: raw('{"a":'),
      headers: { 'x-api-key': 'nope' },
      status: 401,
      path: 'x-api-key',
    },
    { name: 'malformed JSON', body: raw('{"a":'), status: 400 },
    { name: 'empty body with JSON content type', body: raw(''), status: 400 },
    {
      name: 'text/plain content type',
      body: raw(JSON.stringify(GOOD)),
      headers: { 'content-type': 'text/plain' },
      status: 415,
    },
    {
      name: 'application/xml content type',
      body: raw('<event/>'),
      headers: { 'content-type': 'application/xml' },
      status: 415,
    },
    { name: 'body over 64 KiB', body: { ...GOOD, payload: { pad: 'x'.repeat(70_000) } }, status: 413 },
    { name: 'JSON array', body: [GOOD], status: 400, path: '' },
    { name: 'JSON string', body: 'FLIGHT_DELAY', status: 400, path: '' },
    { name: 'JSON number', body: 42, status: 400, path: '' },
    { name: 'JSON null', body: null, status: 400, path: '' },
    { name: 'no eventType nor type', body: booking({ eventType: undefined }), status: 400, path: 'eventType' },
    {
      name: 'unknown eventType',
      body: booking({ eventType: 'BOOKING_EXPLODED' }),
      status: 400,
      path: 'eventType',
      message: /BOOKING_CONFIRMED.*TRAVEL_DISRUPTION/,
    },
    {
      name: 'unknown short-form type',
      body: { ...GOOD, type: 'FLIGHT_EXPLODED' },
      status: 400,
      path: 'type',
      message: /FLIGHT_DELAY/,
    },
    { name: 'booking without pnrNumber', body: booking({ pnrNumber: undefined }), status: 400, path: 'pnrNumber' },
    {
      name: 'booking with a 3-character pnrNumber',
      body: booking({ pnrNumber: 'AB1' }),
      status: 400,
      path: 'pnrNumber',
    },
    { name: 'booking without userId', body: booking({ userId: undefined }), status: 400, path: 'userId' },
    {
      name: 'booking without any contact',
      body: booking({ userEmail: undefined, userPhone: undefined }),
      status: 400,
      path: 'userEmail',
    },
    { name: 'bad email', body: booking({ userEmail: 'user-at-example.com' }), status: 400, path: 'userEmail' },
    { name: 'bad phone', body: booking({ userPhone: '12' }), status: 400, path: 'userPhone' },
    { name: 'eventId not a uuid', body: booking({ eventId: 'event-1' }), status: 400, path: 'eventId' },
    { name: 'bad eventTimestamp', body: booking({ eventTimestamp: 'yesterday' }), status: 400, path: 'eventTimestamp' },
    { name: 'bad journeyDate', body: booking({ journeyDate: '15/01/2024' }), status: 400, path: 'journeyDate' },
    { name: 'negative totalFare', body: booking({ totalFare: -1 }), status: 400, path: 'totalFare' },
    { name: 'isTatkal as a string', body: booking({ isTatkal: 'false' }), status: 400, path: 'isTatkal' },
    {
      name: 'disruption without flightNumber and trainNumber',
      body: { ...GOOD, flightNumber: undefined },
      status: 400,
      path: 'flightNumber',
    },
    { name: 'bad flightNumber', body: { ...GOOD, flightNumber: 'W2-121!' }, status: 400, path: 'flightNumber' },
    {
      name: 'unknown disruptionType',
      body: { eventType: 'TRAVEL_DISRUPTION', disruptionType: 'METEOR', flightNumber: 'W2121' },
      status: 400,
      path: 'disruptionType',
    },
    { name: 'payload not an object', body: { ...GOOD, payload: 'ninety minutes' }, status: 400, path: 'payload' },
    {
      name: 'Idempotency-Key of 300 characters',
      body: GOOD,
      headers: { 'idempotency-key': 'k'.repeat(300) },
      status: 400,
      path: 'idempotency-key',
    },
    {
      name: 'Idempotency-Key with a space',
      body: GOOD,
      headers: { 'idempotency-key': 'two words' },
      status: 400,
      path: 'idempotency-key',
    },
  ];

  it.each(cases)('$name → $status', async ({ body, headers, status, path, message }) => {
    const error = expectJsonError(await post(body, headers), status);
    if (path !== undefined) expect(error.details?.map((d) => d.path)).toContain(path);
    if (message) expect(error.message + JSON.stringify(error.details ?? [])).toMatch(message);
    await expectStillServing();
  });
});

describe('POST /events on arbitrary bodies', () => {
  const fields = Object.keys(booking());
  const mutatedBooking = fc
    .record({ field: fc.constantFrom(...fields), value: fc.oneof(fc.jsonValue(), fc.constant(undefined)) })
    .map(({ field, value }) => booking({ [field]: value }));
  const mutatedShortForm = fc
    .record({
      field: fc.constantFrom('type', 'flightNumber', 'trainNumber', 'payload', 'journeyDate', 'eventId'),
      value: fc.jsonValue(),
    })
    .map(({ field, value }) => ({ ...GOOD, [field]: value }));

  it('answers 202 for a valid event, or a JSON 4xx — never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), mutatedBooking, mutatedShortForm), async (body) => {
        const res = await post(body);
        if (res.statusCode === 202) {
          expect(parseEvent(JSON.parse(JSON.stringify(body))).ok).toBe(true);
          expect(res.json<{ eventId: string }>().eventId).toMatch(UUID);
        } else {
          expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
          expect(res.statusCode, res.body).toBeLessThan(500);
          expectJsonError(res, res.statusCode);
        }
      }),
      { numRuns: 40 },
    );
    await expectStillServing();
  });
});

describe('Idempotency-Key', () => {
  it('replays the same key and body, refuses the same key with another body, and separates keys', async () => {
    const key = randomUUID();
    const body = booking({ pnrNumber: 'IDEM12345' });
    const first = await post(body, { 'idempotency-key': key });
    const second = await post(body, { 'idempotency-key': key });
    expect(first.statusCode, first.body).toBe(202);
    expect(second.statusCode, second.body).toBe(202);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.json()).toEqual(first.json());

    const conflict = expectJsonError(await post({ ...body, totalFare: 1 }, { 'idempotency-key': key }), 409);
    expect(conflict.error).toBe('conflict');
    expect(conflict.details?.map((d) => d.path)).toContain('idempotency-key');

    const other = await post(body, { 'idempotency-key': randomUUID() });
    expect(other.statusCode, other.body).toBe(202);
    expect(other.json<{ eventId: string }>().eventId).not.toBe(first.json<{ eventId: string }>().eventId);
  });

  it('treats the same body with its fields in another order as the same request', async () => {
    const key = randomUUID();
    const first = await post(
      { type: 'TRAIN_DELAY', trainNumber: '12951', payload: { minutes: 30 } },
      { 'idempotency-key': key },
    );
    const reordered = await post(
      { payload: { minutes: 30 }, trainNumber: '12951', type: 'TRAIN_DELAY' },
      { 'idempotency-key': key },
    );
    expect(first.statusCode, first.body).toBe(202);
    expect(reordered.statusCode, reordered.body).toBe(202);
    expect(reordered.json()).toEqual(first.json());
  });
});

describe('empty optional fields', () => {
  it('accepts null and empty strings where a field is optional, as Java services send them', async () => {
    const response = await post(booking({ pnrNumber: 'NULLS1234', userPhone: null, trainName: null, coachNumber: '' }));
    expect(response.statusCode, response.body).toBe(202);
  });

  it('still refuses null where a field is required, naming it', async () => {
    const body = expectJsonError(await post(booking({ pnrNumber: null })), 400);
    expect(body.details?.map((d) => d.path)).toContain('pnrNumber');
  });
});

describe('what reached RabbitMQ', () => {
  it('holds exactly one persistent, valid message per accepted (non-replayed) event', async () => {
    const { messageCount } = await channel.checkQueue(queues.events);
    expect(messageCount).toBe(accepted.length);
    expect(accepted.length).toBeGreaterThan(33);

    const seen: string[] = [];
    for (
      let message = await channel.get(queues.events, { noAck: true });
      message;
      message = await channel.get(queues.events, { noAck: true })
    ) {
      expect(message.properties.deliveryMode).toBe(2);
      expect(message.properties.contentType).toBe('application/json');
      const parsed = parseEvent(JSON.parse(message.content.toString()));
      expect(parsed.ok, message.content.toString()).toBe(true);
      if (parsed.ok) expect(message.properties.messageId).toBe(parsed.event.eventId);
      seen.push(message.properties.messageId as string);
    }
    expect(seen.sort()).toEqual([...accepted].sort());
  });
});
