import { randomUUID } from 'node:crypto';
import { io as connectSocket, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { ensureDatabase, migrate } from '../src/db/migrate.js';
import { signUserToken } from '../src/http/jwt.js';
import { startIngest, type IngestHarness } from './helpers/gateway.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';

/**
 * Refused credentials count towards the limits: each guarded route group counts a request before its guard looks at
 * the credential, so a client that keeps guessing tokens or keys is stopped with 429, and only that client. The api
 * trusts the test as its proxy, so each request names its client in X-Forwarded-For.
 */
const LIMITS = {
  TRUST_PROXY: '127.0.0.1',
  RATE_LIMIT_USERS: '3',
  RATE_LIMIT_UNKNOWN_KEYS: '3',
  RATE_LIMIT_SOCKETS: '3',
};
const EVENT = { type: 'FLIGHT_DELAY', flightNumber: 'W2121', payload: { minutes: 90, reason: 'weather' } };

let config: Config;
let ingest: IngestHarness;
let baseUrl: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  config = testConfig(uniquePrefix('limits-refused'), LIMITS);
  await ensureDatabase(config.DATABASE_URL);
  await migrate({ databaseUrl: config.DATABASE_URL, logger: testLogger });
  ingest = await startIngest(config, { withBridge: false });
  baseUrl = await ingest.app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  await ingest?.close();
});

const inbox = (userId: string, from: string, token: string) =>
  ingest.app.inject({
    url: `/users/${userId}/inbox`,
    headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': from },
  });

const postEvent = (from: string, key: string) =>
  ingest.app.inject({
    method: 'POST',
    url: '/events',
    headers: { 'x-api-key': key, 'content-type': 'application/json', 'x-forwarded-for': from },
    payload: EVENT,
  });

function expectTooMany(res: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  expect(res.statusCode, res.body).toBe(429);
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  expect(JSON.parse(res.body)).toMatchObject({ error: 'too_many_requests', details: [{ path: 'rate-limit' }] });
}

describe('refused credentials are rate limited', () => {
  it('answers 429 to a client guessing user tokens, and to that client only', async () => {
    // Documentation addresses, each test its own (the counters are this run's, under its own prefix).
    const [guesser, neighbour, owner] = ['198.51.100.1', '198.51.100.2', '192.0.2.1'];
    const userId = `refused-${randomUUID()}`;
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await inbox(userId, guesser, `guess-${i}`)).statusCode);
    expect(statuses).toEqual([401, 401, 401]);
    expectTooMany(await inbox(userId, guesser, 'guess-3'));
    // HEAD, which Fastify answers beside GET, is the same budget, not a second one.
    const head = await ingest.app.inject({
      method: 'HEAD',
      url: `/users/${userId}/inbox`,
      headers: { authorization: 'Bearer guess-head', 'x-forwarded-for': guesser },
    });
    expect(head.statusCode).toBe(429);
    // Once locked out, even the right token waits for the window: the guesser learns nothing more.
    const token = await signUserToken(config.JWT_SECRET, userId);
    expectTooMany(await inbox(userId, guesser, token));

    // Another client guessing has its own bucket, and the person herself reads her inbox.
    expect((await inbox(userId, neighbour, 'guess-4')).statusCode).toBe(401);
    const own = await inbox(userId, owner, token);
    expect(own.statusCode, own.body).toBe(200);
    expect(own.json()).toMatchObject({ items: [], unread: 0 });
  });

  it('answers 429 to a client guessing API keys, while partners with a known key go on', async () => {
    const [guesser, neighbour, partner] = ['198.51.100.11', '198.51.100.12', '192.0.2.11'];
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await postEvent(guesser, `guessed-key-${i}`)).statusCode);
    expect(statuses).toEqual([401, 401, 401]);
    expectTooMany(await postEvent(guesser, 'guessed-key-3'));
    expectTooMany(
      await ingest.app.inject({
        method: 'POST',
        url: '/events',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': guesser },
        payload: EVENT,
      }),
    );

    // A partner elsewhere, and one behind the same address, are counted by their key, not by the guesses.
    expect((await postEvent(partner, 'dev-ingest-key')).statusCode).toBe(202);
    expect((await postEvent(guesser, 'dev-ingest-key')).statusCode).toBe(202);
    // Another client's first guess is answered as a guess, not as a 429.
    expect((await postEvent(neighbour, 'guessed-key-4')).statusCode).toBe(401);
  });
});

type HandshakeError = Error & { data?: { code?: string; retryAfterS?: number } };

/** Opens a live-alert socket from `from`; resolves with the connect_error, or undefined once connected. */
async function handshake(token: string, from: string): Promise<HandshakeError | undefined> {
  const socket = connectSocket(baseUrl, {
    auth: { token },
    extraHeaders: { 'x-forwarded-for': from },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  sockets.push(socket);
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(undefined));
    socket.once('connect_error', (error: HandshakeError) => resolve(error));
  });
}

describe('refused socket handshakes are rate limited', () => {
  it('refuses a client opening sockets with bad tokens with RATE_LIMITED, and no one else', async () => {
    const [guesser, owner] = ['198.51.100.51', '192.0.2.51'];
    const codes = [];
    for (let i = 0; i < 3; i += 1) codes.push((await handshake(`guess-${i}`, guesser))?.data?.code);
    expect(codes).toEqual(['TOKEN_INVALID', 'TOKEN_INVALID', 'TOKEN_INVALID']);
    const refused = await handshake('guess-3', guesser);
    expect(refused?.data?.code).toBe('RATE_LIMITED');
    expect(refused?.message).toBe('too many connection attempts from this address');
    expect(refused?.data?.retryAfterS).toBeGreaterThan(0);

    const token = await signUserToken(config.JWT_SECRET, `refused-sockets-${randomUUID()}`);
    expect((await handshake(token, guesser))?.data?.code).toBe('RATE_LIMITED');
    expect(await handshake(token, owner)).toBeUndefined();
  });
});
