import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingConfirmed } from './fixtures/events.js';
import { startIngest, type IngestHarness } from './helpers/gateway.js';
import { testConfig, testKafka, uniquePrefix } from './helpers/kafka.js';
import { freePort } from '../src/util/free-port.js';

/**
 * The consumers take an eventId they have seen as delivered. One partner reusing another's eventId (or its own, for
 * another event) must hear of it, not have its event silently counted as already sent.
 */
describe('an eventId is bound to the sender and the event that first used it', () => {
  let gateway: IngestHarness;
  beforeAll(async () => {
    const config = testConfig(uniquePrefix('event-id'), { INGEST_API_KEYS: 'partner-a-key,partner-b-key' });
    await testKafka(config);
    gateway = await startIngest(config);
  });
  afterAll(async () => {
    await gateway?.close();
  });

  const post = (apiKey: string, body: unknown) =>
    gateway.app.inject({
      method: 'POST',
      url: '/events',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });

  it("refuses with 409 naming eventId when another key sends a different event under A's eventId", async () => {
    const eventId = randomUUID();
    const fromA = await post(
      'partner-a-key',
      bookingConfirmed({ eventId, pnrNumber: 'SCOPEA0001', userId: 'scope-a' }),
    );
    expect(fromA.statusCode).toBe(202);
    expect(fromA.json()).toEqual({ eventId });

    const fromB = await post(
      'partner-b-key',
      bookingConfirmed({ eventId, pnrNumber: 'SCOPEB0001', userId: 'scope-b' }),
    );
    expect(fromB.statusCode).toBe(409);
    expect(fromB.json()).toMatchObject({ error: 'conflict', details: [{ path: 'eventId' }] });
    expect(fromB.json().message).toMatch(new RegExp(`eventId ${eventId}.*another sender`));

    // Even the very same event from B: B cannot know whether A's is the same delivery as its own.
    const sameFromB = await post(
      'partner-b-key',
      bookingConfirmed({ eventId, pnrNumber: 'SCOPEA0001', userId: 'scope-a' }),
    );
    expect(sameFromB.statusCode).toBe(409);
  });

  it("lets A retry its own event (delivered once), refuses A's reuse for another event, and mints ids when none is given", async () => {
    const eventId = randomUUID();
    const event = bookingConfirmed({ eventId, pnrNumber: 'SCOPEA0002', userId: 'scope-a' });
    expect((await post('partner-a-key', event)).statusCode).toBe(202);
    const retry = await post('partner-a-key', { ...event });
    expect(retry.statusCode).toBe(202);
    expect(retry.json()).toEqual({ eventId });

    const reuse = await post('partner-a-key', { ...event, pnrNumber: 'SCOPEA0003' });
    expect(reuse.statusCode).toBe(409);
    expect(reuse.json().message).toMatch(/different event/);

    const minted = await Promise.all(
      ['partner-a-key', 'partner-b-key'].map((key) =>
        post(key, bookingConfirmed({ eventId: undefined, pnrNumber: 'SCOPEM0001' })),
      ),
    );
    expect(minted.map((r) => r.statusCode)).toEqual([202, 202]);
    expect(new Set(minted.map((r) => r.json().eventId)).size).toBe(2);
  });
});

/**
 * With Redis away the owner of an eventId cannot be checked. Let through, B's event under A's eventId would be taken
 * for A's (the first source noted wins), and B's travellers' statuses would go to A's webhook.
 */
describe('an eventId the sender gives, while Redis is unreachable', () => {
  let gateway: IngestHarness;
  beforeAll(async () => {
    // A port nothing listens on: Redis is down for this api, and only for it.
    const deadRedis = `redis://127.0.0.1:${await freePort()}`;
    const config = testConfig(uniquePrefix('event-id-redis-down'), {
      INGEST_API_KEYS: 'partner-a-key,partner-b-key',
      REDIS_URL: deadRedis,
    });
    await testKafka(config);
    gateway = await startIngest(config);
  });
  afterAll(async () => {
    await gateway?.close();
  });

  const post = (apiKey: string, body: unknown) =>
    gateway.app.inject({
      method: 'POST',
      url: '/events',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });

  it("accepts neither partner's event under one eventId (503, retry later), and still accepts events without one", async () => {
    const eventId = randomUUID();
    const fromA = await post('partner-a-key', bookingConfirmed({ eventId, pnrNumber: 'DOWNA00001', userId: 'down-a' }));
    const fromB = await post('partner-b-key', bookingConfirmed({ eventId, pnrNumber: 'DOWNB00001', userId: 'down-b' }));
    for (const answer of [fromA, fromB]) {
      expect(answer.statusCode).toBe(503);
      expect(answer.headers['retry-after']).toBeDefined();
      expect(answer.json()).toMatchObject({ error: 'unavailable' });
      expect(answer.json().message).toMatch(/eventId could not be checked.*leave eventId out/);
    }

    const minted = await post('partner-b-key', bookingConfirmed({ eventId: undefined, pnrNumber: 'DOWNB00002' }));
    expect(minted.statusCode).toBe(202);
    expect(minted.json().eventId).not.toBe(eventId);
  });
});
