import { randomUUID } from 'node:crypto';
import { fieldCipherOf } from '../src/util/field-cipher.js';
import { createInboxRepository } from '../src/store/inbox.repository.js';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT } from 'jose';
import pg from 'pg';
import { io as connectSocket, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userRoom, type Alert } from '../src/channels/alert-contract.js';
import { DeliveryError, type ChannelAdapter, type OutboundMessage } from '../src/channels/channel.js';
import { createWebsocketChannel } from '../src/channels/websocket.channel.js';
import { loadConfig } from '../src/config.js';
import { authRoutes } from '../src/http/auth.routes.js';
import { registerErrorHandling } from '../src/http/errors.js';
import { registerRouteSchemas } from '../src/http/route-schemas.js';
import { signUserToken, verifyUserToken } from '../src/http/jwt.js';
import { pagesRoutes } from '../src/http/pages.routes.js';
import { attachRealtime, type RealtimeServer } from '../src/http/realtime.js';
import { testLogger } from './helpers/kafka.js';
import { waitFor } from './helpers/wait-for.js';

const config = loadConfig();
const SECRET = 'realtime-test-secret';
const RUN = `realtime-${randomUUID().slice(0, 8)}`;
/** A fresh userId per test, all under this run's prefix so the inbox rows can be deleted at the end. */
const newUser = (name: string) => `${RUN}-${name}-${randomUUID().slice(0, 6)}`;

let app: FastifyInstance;
let baseUrl: string;
let io: RealtimeServer;
let redis: Redis;
let pool: pg.Pool;
let channel: ChannelAdapter;
const sockets: ClientSocket[] = [];
/** Every event each server-side socket received from its client, to know when a client's emit has been processed. */
const received: { socketId: string; event: string; args: unknown[] }[] = [];

interface TestClient {
  socket: ClientSocket;
  alerts: Alert[];
  errors: (Error & { data?: { code?: string } })[];
  connects: number;
}

function openClient(auth: Record<string, unknown>): TestClient {
  const socket = connectSocket(baseUrl, { transports: ['websocket'], auth, reconnection: false, forceNew: true });
  sockets.push(socket);
  const client: TestClient = { socket, alerts: [], errors: [], connects: 0 };
  socket.on('alert', (alert: Alert) => client.alerts.push(alert));
  socket.on('connect_error', (error) => client.errors.push(error));
  socket.on('connect', () => (client.connects += 1));
  return client;
}

async function devLogin(userId: string): Promise<string> {
  const response = await fetch(`${baseUrl}/auth/dev-login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

async function logIn(userId: string, extraAuth: Record<string, unknown> = {}): Promise<TestClient & { token: string }> {
  const token = await devLogin(userId);
  const client = openClient({ token, ...extraAuth });
  await waitFor(`${userId} connected`, () => client.socket.connected);
  return Object.assign(client, { token });
}

function message(userId: string, title = `alert ${randomUUID().slice(0, 4)}`): OutboundMessage {
  const eventId = randomUUID();
  return {
    channel: 'websocket',
    to: userId,
    userId,
    eventId,
    eventType: 'TRAVEL_DISRUPTION',
    idempotencyKey: `${eventId}:websocket:${userId}`,
    subject: title,
    text: 'Flight W2121 is delayed by 90 minutes (weather).',
    payload: {
      title,
      body: 'Flight W2121 is delayed by 90 minutes (weather).',
      severity: 'warning',
      flightNumber: 'W2121',
    },
  };
}

/** Sends through the channel (inbox insert, Redis emitter, adapter) and returns the inbox id. */
async function send(msg: OutboundMessage): Promise<number> {
  const result = await channel.send(msg);
  expect(result.status).toBe('delivered');
  expect(result.providerId).toMatch(/^inbox:\d+$/);
  return Number(result.providerId.slice('inbox:'.length));
}

beforeAll(async () => {
  redis = new Redis(config.REDIS_URL);
  pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 4 });
  app = Fastify();
  registerErrorHandling(app);
  registerRouteSchemas(app);
  await app.register(authRoutes, { jwtSecret: SECRET, nodeEnv: 'test' });
  await app.register(pagesRoutes, { pages: ['alerts.html'] });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  io = attachRealtime({
    server: app.server,
    jwtSecret: SECRET,
    redis,
    pool,
    cipher: fieldCipherOf(config),
    logger: testLogger,
  });
  io.on('connection', (socket) =>
    socket.onAny((event: string, ...args: unknown[]) => received.push({ socketId: socket.id, event, args })),
  );
  channel = createWebsocketChannel({ pool, redis, cipher: fieldCipherOf(config), logger: testLogger });
});

afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  await io?.close();
  await app?.close();
  await channel?.close();
  redis?.disconnect();
  await pool?.query('DELETE FROM inbox WHERE user_id LIKE $1', [`${RUN}-%`]);
  await pool?.end();
});

describe('POST /auth/dev-login', () => {
  it('returns an HS256 token whose sub is the trimmed userId', async () => {
    const userId = newUser('login');
    const response = await fetch(`${baseUrl}/auth/dev-login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: `  ${userId} ` }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { token: string; userId: string };
    expect(body.userId).toBe(userId);
    expect(decodeJwt(body.token).sub).toBe(userId);
    expect(decodeJwt(body.token).exp).toBeGreaterThan(Date.now() / 1000);
    expect(decodeProtectedHeader(body.token).alg).toBe('HS256');
    await expect(verifyUserToken(SECRET, body.token)).resolves.toEqual({ userId });
  });

  it.each([
    ['no userId', {}],
    ['an empty userId', { userId: '   ' }],
    ['a numeric userId', { userId: 42 }],
    ['a userId over 128 characters', { userId: 'x'.repeat(129) }],
    ['a body that is not an object', ['demo-ravi']],
  ])('answers 400 naming userId for %s', async (_what, requestBody) => {
    const response = await fetch(`${baseUrl}/auth/dev-login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(requestBody),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; details: { path: string; message: string }[] };
    expect(body.error).toBe('bad_request');
    expect(body.details).toEqual([{ path: 'userId', message: expect.any(String) }]);
  });

  it('does not exist in production', async () => {
    const production = Fastify();
    registerErrorHandling(production);
    registerRouteSchemas(production);
    await production.register(authRoutes, { jwtSecret: SECRET, nodeEnv: 'production' });
    const response = await production.inject({
      method: 'POST',
      url: '/auth/dev-login',
      payload: { userId: 'demo-ravi' },
    });
    expect(response.statusCode).toBe(404);
    await production.close();
  });
});

describe('alerts over Socket.IO', () => {
  it('reach the addressed user exactly once, with the payload, and nobody else', async () => {
    const [userA, userB] = [newUser('a'), newUser('b')];
    const [a, b] = await Promise.all([logIn(userA), logIn(userB)]);

    const msg = message(userA, 'Flight W2121 delayed');
    const id = await send(msg);
    await waitFor('A received the alert', () => a.alerts.length === 1);
    // B's own marker travels the same path after A's alert: once it is there, anything of A's would be too.
    const marker = await send(message(userB, 'marker for B'));
    await waitFor('B received its marker', () => b.alerts.length >= 1);

    expect(a.alerts).toEqual([
      {
        id,
        eventId: msg.eventId,
        eventType: 'TRAVEL_DISRUPTION',
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        title: 'Flight W2121 delayed',
        body: 'Flight W2121 is delayed by 90 minutes (weather).',
        severity: 'warning',
        flightNumber: 'W2121',
      },
    ]);
    expect(b.alerts.map((alert) => alert.id)).toEqual([marker]);
  });

  it.each([
    ['a forged token', () => signUserToken('another-secret-entirely', 'victim'), 'TOKEN_INVALID'],
    ['an expired token', () => signUserToken(SECRET, 'victim', { expiresIn: '-1m' }), 'TOKEN_EXPIRED'],
    [
      'an alg:none token',
      async () => new UnsecuredJWT({}).setSubject('victim').setExpirationTime('1h').encode(),
      'TOKEN_INVALID',
    ],
    [
      'an HS512 token with the right secret',
      () =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'HS512' })
          .setSubject('victim')
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(SECRET)),
      'TOKEN_INVALID',
    ],
    [
      'a token that never expires',
      () =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('victim')
          .sign(new TextEncoder().encode(SECRET)),
      'TOKEN_INVALID',
    ],
    [
      'a token without sub',
      () =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(SECRET)),
      'TOKEN_INVALID',
    ],
    ['no token', async () => undefined, 'TOKEN_MISSING'],
  ])('refuses %s with connect_error', async (_what, makeToken, code) => {
    const token = await makeToken();
    const client = openClient(token === undefined ? {} : { token });
    await waitFor('connect_error', () => client.errors.length > 0);
    expect(client.errors[0]!.message).toBe('unauthorized');
    expect(client.errors[0]!.data).toEqual({ code });
    expect(client.connects).toBe(0);
    expect(client.socket.connected).toBe(false);
  });

  it('ignores a client asking to join another user’s room', async () => {
    const [userA, userB] = [newUser('a'), newUser('b')];
    const [a, b] = await Promise.all([logIn(userA), logIn(userB)]);

    b.socket.emit('join', userRoom(userA));
    b.socket.emit('join', { room: userRoom(userA) });
    b.socket.emit('subscribe', userRoom(userA));
    await waitFor(
      'the server processed B’s requests',
      () => received.filter((r) => r.socketId === b.socket.id).length === 3,
    );
    const roomMembers = (await io.in(userRoom(userA)).fetchSockets()).map((socket) => socket.id);
    expect(roomMembers).toEqual([a.socket.id]);

    await send(message(userA, 'for A only'));
    await waitFor('A received its alert', () => a.alerts.length === 1);
    const marker = await send(message(userB, 'marker for B'));
    await waitFor('B received its marker', () => b.alerts.length >= 1);
    expect(b.alerts.map((alert) => alert.id)).toEqual([marker]);
  });

  it('replays the alerts missed while away, in order, before live ones', async () => {
    const userA = newUser('a');
    const a = await logIn(userA);
    const first = await send(message(userA, 'one'));
    await waitFor('alert 1 live', () => a.alerts.length === 1);

    a.socket.disconnect();
    await waitFor('A away', () =>
      io
        .in(userRoom(userA))
        .fetchSockets()
        .then((members) => members.length === 0),
    );
    const second = await send(message(userA, 'two'));
    const third = await send(message(userA, 'three'));
    expect(a.alerts).toHaveLength(1);

    a.socket.auth = { token: a.token, lastSeenId: first };
    a.socket.connect();
    await waitFor('the missed alerts', () => a.alerts.length === 3);
    const fourth = await send(message(userA, 'four'));
    await waitFor('the live alert after them', () => a.alerts.length === 4);

    expect(a.alerts.map((alert) => [alert.id, alert.title])).toEqual([
      [first, 'one'],
      [second, 'two'],
      [third, 'three'],
      [fourth, 'four'],
    ]);
    expect(first < second && second < third && third < fourth).toBe(true);
  });

  it('accepts lastSeenId as a numeric string, and replays nothing for one that is not a number', async () => {
    const userA = newUser('a');
    const first = await send(message(userA, 'one'));
    const second = await send(message(userA, 'two'));

    const fromString = await logIn(userA, { lastSeenId: String(first) });
    const fromGarbage = await logIn(userA, { lastSeenId: '-1' });
    const withoutReplay = await logIn(userA);
    await waitFor('the replay from a string id', () => fromString.alerts.length === 1);
    const live = await send(message(userA, 'live'));
    await waitFor('the live alert everywhere', () =>
      [fromString, fromGarbage, withoutReplay].every((c) => c.alerts.some((x) => x.id === live)),
    );

    expect(fromString.alerts.map((alert) => alert.id)).toEqual([second, live]);
    expect(fromGarbage.alerts.map((alert) => alert.id)).toEqual([live]);
    expect(withoutReplay.alerts.map((alert) => alert.id)).toEqual([live]);
  });
});

describe('the websocket channel', () => {
  it('keeps one inbox row and one providerId when a message is delivered twice', async () => {
    const userA = newUser('a');
    const msg = message(userA, 'once');
    const first = await channel.send(msg);
    const again = await channel.send({ ...msg, payload: { title: 'changed on redelivery' } });
    expect(again).toEqual(first);
    const rows = await createInboxRepository(pool, fieldCipherOf(config)).latest({ userId: userA, limit: 10 });
    expect(rows.map((row) => [row.event_id, row.payload.title])).toEqual([[msg.eventId, 'once']]);
  });

  it('stores subject and text when the message carries no payload', async () => {
    const userA = newUser('a');
    const a = await logIn(userA);
    const { payload: _payload, ...plain } = message(userA, 'Platform changed');
    await channel.send(plain);
    await waitFor('the alert', () => a.alerts.length === 1);
    expect(a.alerts[0]).toMatchObject({ title: 'Platform changed', body: plain.text, eventType: 'TRAVEL_DISRUPTION' });
  });

  it('classifies a message PostgreSQL refuses as permanent', async () => {
    const error = await channel.send({ ...message(newUser('a')), eventId: 'not-a-uuid' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ code: 'INVALID_MESSAGE', retriable: false });
  });

  it('classifies an unreachable PostgreSQL as retriable STORE_UNAVAILABLE', async () => {
    const deadPool = new pg.Pool({
      connectionString: 'postgres://postgres@127.0.0.1:1/gateway',
      connectionTimeoutMillis: 2000,
    });
    const deadChannel = createWebsocketChannel({
      pool: deadPool,
      redis,
      cipher: fieldCipherOf(config),
      logger: testLogger,
    });
    try {
      const error = await deadChannel.send(message(newUser('a'))).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeliveryError);
      expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', retriable: true });
    } finally {
      await deadChannel.close();
      await deadPool.end();
    }
  });

  it('classifies an unreachable Redis as retriable STORE_UNAVAILABLE', async () => {
    const deadRedis = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true });
    const deadChannel = createWebsocketChannel({
      pool,
      redis: deadRedis,
      cipher: fieldCipherOf(config),
      logger: testLogger,
    });
    try {
      const error = await deadChannel.send(message(newUser('a'))).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeliveryError);
      expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', retriable: true });
    } finally {
      await deadChannel.close();
      deadRedis.disconnect();
    }
  });
});

describe('pages', () => {
  it('serves /alerts.html with the elements the browser test uses', async () => {
    const response = await fetch(`${baseUrl}/alerts.html`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await response.text();
    for (const id of ['alerts', 'status', 'user-id', 'login']) expect(html).toContain(`id="${id}"`);
    expect(html).toContain('src="/socket.io/socket.io.js"');
    expect(html).not.toContain('innerHTML');
  });

  it('serves the socket.io client the page loads', async () => {
    const response = await fetch(`${baseUrl}/socket.io/socket.io.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/javascript/);
    expect(await response.text()).toContain('io');
  });
});
