import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { io as connectSocket } from 'socket.io-client';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUserToken } from '../src/http/jwt.js';
import { bookingConfirmed } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { emailsTo } from './helpers/maildev.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * Bad input of every kind the edge meets, each answered with a 4xx that names the field (or header) and the reason,
 * never a 5xx; after all of it the gateway still delivers a normal booking by email and live alert.
 */

let gateway: Gateway;
const USER = `hostile-${randomUUID().slice(0, 8)}`;
const ERASED = `${USER}-erased`;
let userToken: string;
let adminToken: string;

beforeAll(async () => {
  gateway = await startGateway('hostile');
  userToken = await signUserToken(gateway.config.JWT_SECRET, USER);
  adminToken = gateway.config.ADMIN_TOKEN;
  // A traveller who asked to be erased: their still-valid token must not open a socket.
  await gateway.preferences.update(ERASED, { locale: 'en' });
  const erased = await fetch(`${gateway.apiUrl}/users/${ERASED}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${adminToken}` },
  });
  expect(erased.status).toBeLessThan(300);
}, 120_000);

afterAll(async () => {
  await gateway?.close();
});

/** A body sent as these exact characters (not JSON-encoded by the test). */
class Raw {
  constructor(readonly text: string) {}
}

interface Case {
  name: string;
  method?: string;
  path: string;
  headers?: () => Record<string, string>;
  body?: unknown;
  status: number;
  /** The field or header the answer must name in `details[].path` ('' for the body as a whole). */
  field: string;
  /** What the answer must say about it (matched against message and details). */
  reason: RegExp;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const ingest = () => ({ 'x-api-key': 'dev-ingest-key', ...JSON_TYPE });
const asUser = () => ({ authorization: `Bearer ${userToken}`, ...JSON_TYPE });
const asAdmin = () => ({ authorization: `Bearer ${adminToken}`, ...JSON_TYPE });
const booking = (overrides: Record<string, unknown> = {}) => bookingConfirmed({ eventId: undefined, ...overrides });
const delay = (payload: unknown) => ({ type: 'FLIGHT_DELAY', flightNumber: 'W2121', payload });
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const preferences = `/users/${USER}/preferences`;
const itineraries = `/users/${USER}/itineraries`;

const CASES: Case[] = [
  // POST /events
  {
    name: 'NUL in a string',
    path: '/events',
    headers: ingest,
    body: booking({ userName: 'A\u0000B' }),
    status: 400,
    field: 'userName',
    reason: /NUL/,
  },
  {
    name: 'NUL in a field the contract does not name',
    path: '/events',
    headers: ingest,
    body: booking({ remarks: ['ok', 'x\u0000'] }),
    status: 400,
    field: 'remarks.1',
    reason: /NUL/,
  },
  {
    name: 'lone surrogate (invalid UTF-16)',
    path: '/events',
    headers: ingest,
    body: new Raw(
      JSON.stringify(booking())
        .replace('"userName":"John Doe"', '"userName":"\\ud800"')
        .replace(/}$/, ',"note":"\\udfff"}'),
    ),
    status: 400,
    field: 'note',
    reason: /surrogate/,
  },
  {
    name: 'body over the 64 KiB limit',
    path: '/events',
    headers: ingest,
    body: booking({ notes: 'x'.repeat(70_000) }),
    status: 413,
    field: 'body',
    reason: /too large/i,
  },
  {
    name: 'wrong content type',
    path: '/events',
    headers: () => ({ 'x-api-key': 'dev-ingest-key', 'content-type': 'text/plain' }),
    body: new Raw('hello'),
    status: 415,
    field: 'content-type',
    reason: /unsupported media type/i,
  },
  {
    name: 'malformed JSON',
    path: '/events',
    headers: ingest,
    body: new Raw('{"eventType": "BOOKING_CONFIRMED",'),
    status: 400,
    field: 'body',
    reason: /not valid JSON.*(end of JSON|Unexpected|Expected)/,
  },
  {
    name: 'JSON that is not an object',
    path: '/events',
    headers: ingest,
    body: new Raw('42'),
    status: 400,
    field: '',
    reason: /must be a JSON object/,
  },
  {
    name: 'array instead of object',
    path: '/events',
    headers: ingest,
    body: [booking()],
    status: 400,
    field: '',
    reason: /must be a JSON object/,
  },
  {
    name: 'unknown eventType',
    path: '/events',
    headers: ingest,
    body: booking({ eventType: 'BOOKING_EXPLODED' }),
    status: 400,
    field: 'eventType',
    reason: /allowed: BOOKING_CONFIRMED/,
  },
  {
    name: 'bad eventTimestamp',
    path: '/events',
    headers: ingest,
    body: booking({ eventTimestamp: 'yesterday' }),
    status: 400,
    field: 'eventTimestamp',
    reason: /datetime/i,
  },
  {
    name: 'negative amount',
    path: '/events',
    headers: ingest,
    body: booking({ totalFare: -1 }),
    status: 400,
    field: 'totalFare',
    reason: />=\s*0|too small/i,
  },
  {
    name: 'bad E.164 phone',
    path: '/events',
    headers: ingest,
    body: booking({ userPhone: '+12' }),
    status: 400,
    field: 'userPhone',
    reason: /phone number/,
  },
  {
    name: 'bad email',
    path: '/events',
    headers: ingest,
    body: booking({ userEmail: 'not-an-email' }),
    status: 400,
    field: 'userEmail',
    reason: /email/i,
  },
  {
    name: 'prototype pollution (__proto__)',
    path: '/events',
    headers: ingest,
    body: new Raw('{"eventType":"BOOKING_CONFIRMED","__proto__":{"admin":true}}'),
    status: 400,
    field: 'body',
    reason: /prototype/i,
  },
  {
    name: 'prototype pollution (constructor.prototype)',
    path: '/events',
    headers: ingest,
    body: new Raw('{"type":"FLIGHT_DELAY","flightNumber":"W2121","constructor":{"prototype":{"x":1}}}'),
    status: 400,
    field: 'body',
    reason: /prototype/i,
  },
  {
    name: 'deeply nested JSON',
    path: '/events',
    headers: ingest,
    body: new Raw(JSON.stringify(booking()).replace(/}$/, `,"deep":${nested(10_000)}}`)),
    status: 400,
    field: 'deep.0.0.0.0.0.0.0',
    reason: /nested too deeply/,
  },
  {
    name: 'very long string',
    path: '/events',
    headers: ingest,
    body: booking({ userName: 'R'.repeat(20_000) }),
    status: 400,
    field: 'userName',
    reason: /200/,
  },
  {
    name: 'disruption minutes as words',
    path: '/events',
    headers: ingest,
    body: delay({ minutes: 'ninety' }),
    status: 400,
    field: 'payload.minutes',
    reason: /whole number of minutes/,
  },
  {
    name: 'disruption reason past SMS bounds',
    path: '/events',
    headers: ingest,
    body: delay({ reason: 'fog '.repeat(500) }),
    status: 400,
    field: 'payload.reason',
    reason: /at most 200/,
  },
  {
    name: 'unknown disruption payload field',
    path: '/events',
    headers: ingest,
    body: delay({ minutes: 5, html: '<script>' }),
    status: 400,
    field: 'payload.html',
    reason: /unknown field/,
  },
  {
    name: 'no API key',
    path: '/events',
    headers: () => JSON_TYPE,
    body: booking(),
    status: 401,
    field: 'x-api-key',
    reason: /required/,
  },
  {
    name: 'wrong API key',
    path: '/events',
    headers: () => ({ ...JSON_TYPE, 'x-api-key': 'guess' }),
    body: booking(),
    status: 401,
    field: 'x-api-key',
    reason: /not a known key/,
  },
  {
    name: 'bad Idempotency-Key',
    path: '/events',
    headers: () => ({ ...ingest(), 'idempotency-key': 'has spaces in it' }),
    body: booking(),
    status: 400,
    field: 'idempotency-key',
    reason: /visible ASCII/,
  },

  // preferences
  {
    name: 'unknown field in preferences',
    method: 'PATCH',
    path: preferences,
    headers: asUser,
    body: { colour: 'red' },
    status: 400,
    field: 'colour',
    reason: /unknown field/,
  },
  {
    name: 'quiet hours 25:00',
    method: 'PATCH',
    path: preferences,
    headers: asUser,
    body: { quietHours: { start: '25:00', end: '07:00', timeZone: 'Asia/Kolkata' } },
    status: 400,
    field: 'quietHours.start',
    reason: /HH:MM/,
  },
  {
    name: 'bad time zone',
    method: 'PATCH',
    path: preferences,
    headers: asUser,
    body: { quietHours: { start: '22:00', end: '07:00', timeZone: 'Mars/Olympus' } },
    status: 400,
    field: 'quietHours.timeZone',
    reason: /IANA/,
  },
  {
    name: 'bad locale',
    method: 'PATCH',
    path: preferences,
    headers: asUser,
    body: { locale: 'klingon!' },
    status: 400,
    field: 'locale',
    reason: /'en' or 'hi'/,
  },
  {
    name: 'bad contact phone',
    method: 'PUT',
    path: preferences,
    headers: asUser,
    body: { contact: { phone: '12' } },
    status: 400,
    field: 'contact.phone',
    reason: /phone/,
  },
  {
    name: 'NUL in a contact email',
    method: 'PATCH',
    path: preferences,
    headers: asUser,
    body: { contact: { email: 'a\u0000@b.in' } },
    status: 400,
    field: 'contact.email',
    reason: /email/,
  },
  {
    name: 'preferences as an array',
    method: 'PATCH',
    path: preferences,
    headers: asUser,
    body: [{ locale: 'en' }],
    status: 400,
    field: '',
    reason: /object/,
  },
  {
    name: 'NUL in the userId of the path',
    method: 'GET',
    path: '/users/a%00b/preferences',
    headers: asAdmin,
    status: 400,
    field: 'userId',
    reason: /NUL/,
  },
  {
    name: "another user's preferences",
    method: 'GET',
    path: '/users/someone-else/preferences',
    headers: asUser,
    status: 403,
    field: 'userId',
    reason: /not yours/,
  },
  {
    name: 'preferences without a token',
    method: 'GET',
    path: preferences,
    status: 401,
    field: 'authorization',
    reason: /required/,
  },

  // itineraries
  {
    name: 'itinerary with a bad date',
    method: 'POST',
    path: itineraries,
    headers: asUser,
    body: { flightNumber: 'W2121', journeyDate: '2026-02-30' },
    status: 400,
    field: 'journeyDate',
    reason: /date/i,
  },
  {
    name: 'itinerary with both flight and train',
    method: 'POST',
    path: itineraries,
    headers: asUser,
    body: { flightNumber: 'W2121', trainNumber: '12951' },
    status: 400,
    field: 'flightNumber',
    reason: /exactly one/,
  },
  {
    name: 'itinerary with NUL in the flight',
    method: 'POST',
    path: itineraries,
    headers: asUser,
    body: { flightNumber: 'W21\u000021' },
    status: 400,
    field: 'flightNumber',
    reason: /letters or digits/,
  },

  // admin
  {
    name: 'admin without a token',
    method: 'GET',
    path: '/admin/dlq',
    status: 401,
    field: 'authorization',
    reason: /required/,
  },
  {
    name: 'admin with a wrong token',
    method: 'GET',
    path: '/admin/dlq',
    headers: () => ({ authorization: 'Bearer nope' }),
    status: 403,
    field: 'authorization',
    reason: /not the admin token/,
  },
  {
    name: 'DLQ replay with a bad id',
    method: 'POST',
    path: '/admin/dlq/1%20OR%201=1/replay',
    headers: asAdmin,
    body: {},
    status: 400,
    field: 'id',
    reason: /positive integer/,
  },
  {
    name: 'DLQ list with a bad limit',
    method: 'GET',
    path: '/admin/dlq?limit=-1',
    headers: asAdmin,
    status: 400,
    field: 'limit',
    reason: /integer/,
  },
  {
    name: 'bulk replay with an unknown field',
    method: 'POST',
    path: '/admin/dlq/replay',
    headers: asAdmin,
    body: { filter: {}, everything: true },
    status: 400,
    field: 'everything',
    reason: /unknown parameter/,
  },

  // dev login
  {
    name: 'dev-login with NUL in the userId',
    method: 'POST',
    path: '/auth/dev-login',
    headers: () => JSON_TYPE,
    body: { userId: 'a\u0000b' },
    status: 400,
    field: 'userId',
    reason: /NUL/,
  },

  // Twilio webhooks
  {
    name: 'status callback without a signature',
    method: 'POST',
    path: '/webhooks/twilio/status',
    headers: () => ({ 'content-type': 'application/x-www-form-urlencoded' }),
    body: new Raw('MessageSid=SM1&MessageStatus=delivered'),
    status: 400,
    field: 'x-twilio-signature',
    reason: /required/,
  },
  {
    name: 'status callback with a bad signature',
    method: 'POST',
    path: '/webhooks/twilio/status',
    headers: () => ({ 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'Zm9yZ2Vk' }),
    body: new Raw('MessageSid=SM1&MessageStatus=delivered'),
    status: 403,
    field: 'x-twilio-signature',
    reason: /invalid/,
  },
  {
    name: 'inbound message with a bad signature',
    method: 'POST',
    path: '/webhooks/twilio/inbound',
    headers: () => ({ 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'Zm9yZ2Vk' }),
    body: new Raw('From=%2B919812345678&Body=STOP'),
    status: 403,
    field: 'x-twilio-signature',
    reason: /invalid/,
  },
  {
    name: 'status callback as JSON',
    method: 'POST',
    path: '/webhooks/twilio/status',
    headers: () => JSON_TYPE,
    body: { MessageSid: 'SM1' },
    status: 400,
    field: 'x-twilio-signature',
    reason: /required/,
  },
];

async function send(c: Case): Promise<Response> {
  const body = c.body === undefined ? undefined : c.body instanceof Raw ? c.body.text : JSON.stringify(c.body);
  return fetch(`${gateway.apiUrl}${c.path}`, { method: c.method ?? 'POST', headers: c.headers?.() ?? {}, body });
}

describe('hostile input at the HTTP edge', () => {
  it('has at least 25 kinds of bad input', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(25);
  });

  it.each(CASES.map((c) => [c.name, c] as const))(
    '%s → the status, naming the field and the reason',
    async (_name, c) => {
      const response = await send(c);
      const text = await response.text();
      expect(response.status, text).toBe(c.status);
      const body = JSON.parse(text) as {
        error: string;
        message: string;
        details?: Array<{ path: string; message: string }>;
      };
      expect(typeof body.error).toBe('string');
      expect(
        body.details?.map((d) => d.path),
        text,
      ).toContain(c.field);
      expect(`${body.message} ${JSON.stringify(body.details)}`).toMatch(c.reason);
    },
  );

  it('answers a signed status callback that is not one with a 400 naming the field', async () => {
    const url = `${gateway.config.PUBLIC_URL}/webhooks/twilio/status`;
    const params = { MessageSid: 'SM00000000000000000000000000000000', MessageStatus: 'exploded' };
    const signature = twilio.getExpectedTwilioSignature(gateway.config.TWILIO_AUTH_TOKEN, url, params);
    const response = await fetch(`${gateway.apiUrl}/webhooks/twilio/status`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      body: new URLSearchParams(params).toString(),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { details: Array<{ path: string }> }).details.map((d) => d.path)).toContain(
      'MessageStatus',
    );
  });
});

type HandshakeError = Error & { data?: { code?: string } };

/** The connect_error a handshake with this auth gets (failing the test if it connects instead). */
async function refusal(auth: Record<string, unknown>): Promise<HandshakeError> {
  const socket = connectSocket(gateway.apiUrl, {
    auth,
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  try {
    return await new Promise<HandshakeError>((resolve, reject) => {
      socket.once('connect', () => reject(new Error('the socket connected')));
      socket.once('connect_error', resolve);
    });
  } finally {
    socket.disconnect();
  }
}

describe('hostile socket handshakes', () => {
  it.each([
    ['without a token', 'TOKEN_MISSING', async () => ({})],
    ['with a token that is not a string', 'TOKEN_MISSING', async () => ({ token: { $ne: null } })],
    [
      'with an expired token',
      'TOKEN_EXPIRED',
      async () => ({ token: await signUserToken(gateway.config.JWT_SECRET, USER, { expiresIn: '-1m' }) }),
    ],
    [
      'with a token signed by another key',
      'TOKEN_INVALID',
      async () => ({ token: await signUserToken('another-key-entirely', USER) }),
    ],
    ['with garbage for a token', 'TOKEN_INVALID', async () => ({ token: 'x'.repeat(10_000) })],
    [
      'with a NUL in the subject',
      'TOKEN_INVALID',
      async () => ({
        token: await new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('a\u0000b')
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(gateway.config.JWT_SECRET)),
      }),
    ],
    [
      'for an erased user',
      'USER_ERASED',
      async () => ({ token: await signUserToken(gateway.config.JWT_SECRET, ERASED) }),
    ],
  ] as const)('refuses a handshake %s with connect_error %s', async (_name, code, auth) => {
    const error = await refusal(await auth());
    expect(error.data).toEqual({ code });
  });
});

describe('after all of it', () => {
  it('delivers a normal booking: the email arrives and the live alert too', async () => {
    const traveller = { userId: `${USER}-ok`, userEmail: uniqueEmail('hostile'), userPhone: uniquePhone() };
    const { alerts } = await gateway.connectAs(traveller.userId);
    const response = await fetch(`${gateway.apiUrl}/events`, {
      method: 'POST',
      headers: ingest(),
      body: JSON.stringify(booking({ ...traveller, pnrNumber: 'HOSTILE42' })),
    });
    expect(response.status).toBe(202);
    const { eventId } = (await response.json()) as { eventId: string };

    const [email] = await waitFor(
      'the booking email in MailDev',
      async () => {
        const found = await emailsTo(traveller.userEmail);
        return found.length > 0 && found;
      },
      { timeoutMs: 60_000 },
    );
    expect(email!.subject).toMatch(/HOSTILE42|confirmed/i);
    await waitFor('the live alert', () => alerts.find((alert) => alert.eventId === eventId), { timeoutMs: 60_000 });
  }, 90_000);
});
