import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUserToken } from '../src/http/jwt.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { emailsTo } from './helpers/maildev.js';
import { waitFor } from './helpers/wait-for.js';

describe('POST /users/:userId/itineraries', () => {
  let gateway: Gateway;
  const userId = `follower-${randomBytes(3).toString('hex')}`;
  let token: string;

  beforeAll(async () => {
    gateway = await startGateway('itineraries');
    token = await signUserToken(gateway.config.JWT_SECRET, userId);
  });
  afterAll(async () => {
    await gateway?.close();
  });

  const post = (body: unknown, auth?: string, who = userId) =>
    fetch(`${gateway.apiUrl}/users/${who}/itineraries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth && { authorization: `Bearer ${auth}` }) },
      body: JSON.stringify(body),
    });

  it('refuses a caller without a token (401) and another user’s token (403)', async () => {
    expect((await post({ flightNumber: 'W2121' })).status).toBe(401);
    const stranger = await signUserToken(gateway.config.JWT_SECRET, 'someone-else');
    const forbidden = await post({ flightNumber: 'W2121' }, stranger);
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ error: 'forbidden' });
    expect((await post({ flightNumber: 'W2121' }, 'not-a-token')).status).toBe(401);
  });

  it('refuses a bad itinerary naming the field', async () => {
    for (const [body, field] of [
      [{}, 'flightNumber'],
      [{ flightNumber: 'W2121', trainNumber: '12951' }, 'flightNumber'],
      [{ flightNumber: 'W2 121!' }, 'flightNumber'],
      [{ trainNumber: '12951', journeyDate: 'tomorrow' }, 'journeyDate'],
      [{ trainNumber: '12951', seat: '4A' }, ''],
    ] as const) {
      const response = await post(body, token);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const answer = (await response.json()) as { details: Array<{ path: string }> };
      expect(
        answer.details.map((d) => d.path),
        JSON.stringify(body),
      ).toContain(field);
    }
  });

  it('follows a flight, with the user’s own token or the admin token, and the next disruption reaches them', async () => {
    const email = uniqueEmail('follower');
    await gateway.preferences.update(userId, { email, phone: uniquePhone() });
    const created = await post({ flightNumber: 'w2121' }, token);
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ userId, flightNumber: 'W2121' });
    expect((await post({ trainNumber: '12951', journeyDate: '2026-12-20' }, gateway.config.ADMIN_TOKEN)).status).toBe(
      201,
    );

    await gateway.producer.publish({
      eventType: 'TRAVEL_DISRUPTION',
      disruptionType: 'GATE_CHANGE',
      flightNumber: 'W2121',
      payload: { gate: '42B' },
    });
    const [mail] = await waitFor('the gate change email', async () =>
      (await emailsTo(email)).length ? emailsTo(email) : undefined,
    );
    expect(`${mail!.subject} ${mail!.text}`).toContain('W2121');
  });
});
