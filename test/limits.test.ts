import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { io as connectSocket, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { signUserToken } from '../src/http/jwt.js';
import { composeApi, type ComposedApi } from '../src/roles/api.role.js';
import { startIngest, type IngestHarness } from './helpers/gateway.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';
import { waitFor } from './helpers/wait-for.js';

const SECOND_KEY = `second-partner-${randomUUID()}`;
const EVENT = { type: 'FLIGHT_DELAY', flightNumber: 'W2121', payload: { minutes: 90, reason: 'weather' } };
const LIMITS = {
  RATE_LIMIT_EVENTS: '5',
  RATE_LIMIT_AUTH: '3',
  RATE_LIMIT_ADMIN: '3',
  RATE_LIMIT_USERS: '4',
  SOCKETS_PER_USER: '2',
};

let config: Config;
let ingest: IngestHarness;
/** A second api process on the same Redis: the limits are the gateway's, not one process's. */
let other: ComposedApi;
let baseUrl: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  const prefix = uniquePrefix('limits');
  config = testConfig(prefix, { ...LIMITS, INGEST_API_KEYS: `dev-ingest-key,${SECOND_KEY}` });
  ingest = await startIngest(config);
  baseUrl = await ingest.app.listen({ host: '127.0.0.1', port: 0 });
  other = await composeApi(config, testLogger, { name: 'test-limits-other' });
});

afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  await other?.close();
  await ingest?.close();
});

const postEvent = (app: FastifyInstance, key: string) =>
  app.inject({
    method: 'POST',
    url: '/events',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    payload: EVENT,
  });

function expectTooMany(res: {
  statusCode: number;
  headers: Record<string, unknown>;
  json: () => unknown;
  body: string;
}) {
  expect(res.statusCode, res.body).toBe(429);
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(res.json()).toMatchObject({
    error: 'too_many_requests',
    message: expect.stringMatching(/rate limit/),
    details: [{ path: 'rate-limit' }],
  });
}

describe('rate limits', () => {
  it('counts POST /events per API key, across api processes, and answers 429 with Retry-After', async () => {
    const statuses = [];
    for (let i = 0; i < 5; i += 1)
      statuses.push((await postEvent(i % 2 ? other.app : ingest.app, 'dev-ingest-key')).statusCode);
    expect(statuses).toEqual([202, 202, 202, 202, 202]);
    expectTooMany(await postEvent(ingest.app, 'dev-ingest-key'));
    expectTooMany(await postEvent(other.app, 'dev-ingest-key'));
    // Another partner has a budget of its own.
    expect((await postEvent(ingest.app, SECOND_KEY)).statusCode).toBe(202);
  });

  it('counts admin requests before the token is checked, so guessing the token is limited too', async () => {
    const wrong = { authorization: 'Bearer not-the-admin-token' };
    for (let i = 0; i < 3; i += 1)
      expect((await ingest.app.inject({ url: '/admin/dlq', headers: wrong })).statusCode).toBe(403);
    expectTooMany(
      await ingest.app.inject({ url: '/admin/dlq', headers: { authorization: `Bearer ${config.ADMIN_TOKEN}` } }),
    );
  });

  it('limits the auth routes and the user routes per client', async () => {
    const login = () =>
      ingest.app.inject({ method: 'POST', url: '/auth/dev-login', payload: { userId: 'limits-user' } });
    for (let i = 0; i < 3; i += 1) expect((await login()).statusCode).toBe(200);
    expectTooMany(await login());

    const token = await signUserToken(config.JWT_SECRET, 'limits-user');
    const read = () =>
      ingest.app.inject({ url: '/users/limits-user/preferences', headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < 4; i += 1) expect((await read()).statusCode).toBe(200);
    expectTooMany(await read());
  });
});

describe('security headers', () => {
  it('sends helmet headers, with a policy that runs only the pages’ own scripts', async () => {
    const page = await ingest.app.inject({ url: '/alerts.html' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-frame-options']).toBe('SAMEORIGIN');
    const policy = String(page.headers['content-security-policy']);
    const scripts = policy.split(';').find((directive) => directive.startsWith('script-src'));
    expect(scripts).toMatch(/^script-src 'self'( 'sha256-[A-Za-z0-9+/=]+')+$/);
    expect(policy).not.toContain('upgrade-insecure-requests');
    expect((await postEvent(ingest.app, SECOND_KEY)).headers['x-content-type-options']).toBe('nosniff');
  });
});

type HandshakeError = Error & { data?: { code?: string } };

/** Connects as the token's holder; resolves once connected, or with the connect_error. */
async function connect(token: string): Promise<{ socket: Socket; error?: HandshakeError }> {
  const socket = connectSocket(baseUrl, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  sockets.push(socket);
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket }));
    socket.once('connect_error', (error: HandshakeError) => resolve({ socket, error }));
  });
}

describe('live-alert sockets', () => {
  it('caps the sockets one user holds, refusing one more with TOO_MANY_SOCKETS until one closes', async () => {
    const userId = `limits-sockets-${randomUUID()}`;
    const token = await signUserToken(config.JWT_SECRET, userId);
    const [first, second] = [await connect(token), await connect(token)];
    expect([first.error, second.error]).toEqual([undefined, undefined]);
    const third = await connect(token);
    expect(third.error?.data).toEqual({ code: 'TOO_MANY_SOCKETS' });
    expect(third.error?.message).toBe('too many connections for this user');
    // Someone else is not affected.
    expect((await connect(await signUserToken(config.JWT_SECRET, `${userId}-other`))).error).toBeUndefined();

    first.socket.disconnect();
    await waitFor('a free place after one socket closed', async () => {
      const next = await connect(token);
      return next.error === undefined;
    });
  });

  it('refuses a burst of handshakes past the cap, not only one at a time', async () => {
    const token = await signUserToken(config.JWT_SECRET, `limits-burst-${randomUUID()}`);
    const results = await Promise.all(Array.from({ length: 8 }, () => connect(token)));
    expect(results.filter((r) => r.error === undefined)).toHaveLength(2);
    expect(results.filter((r) => r.error?.data?.code === 'TOO_MANY_SOCKETS')).toHaveLength(6);
  });

  it('disconnects a socket when its token expires', async () => {
    const token = await signUserToken(config.JWT_SECRET, `limits-expiry-${randomUUID()}`, { expiresIn: '2s' });
    const { socket, error } = await connect(token);
    expect(error).toBeUndefined();
    const reason = await new Promise<string>((resolve) => socket.once('disconnect', resolve));
    expect(reason).toBe('io server disconnect');
  }, 15_000);

  it('refuses an erased user at the handshake, though the token is still valid', async () => {
    const userId = `limits-erased-${randomUUID()}`;
    const token = await signUserToken(config.JWT_SECRET, userId);
    const headers = { authorization: `Bearer ${config.ADMIN_TOKEN}`, 'content-type': 'application/json' };
    expect(
      (
        await ingest.app.inject({
          method: 'PATCH',
          url: `/users/${userId}/preferences`,
          headers,
          payload: { locale: 'en' },
        })
      ).statusCode,
    ).toBe(200);
    const before = await connect(token);
    expect(before.error).toBeUndefined();
    before.socket.disconnect();

    expect(
      (
        await ingest.app.inject({
          method: 'DELETE',
          url: `/users/${userId}`,
          headers: { authorization: headers.authorization },
        })
      ).statusCode,
    ).toBeLessThan(300);
    const after = await connect(token);
    expect(after.error?.data).toEqual({ code: 'USER_ERASED' });
  });
});
