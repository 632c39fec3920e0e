import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUserToken } from '../src/http/jwt.js';
import { bookingConfirmed } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { waitFor } from './helpers/wait-for.js';

interface HistoryItem {
  id: number;
  eventId: string;
  eventType: string;
  channel: string;
  status: string;
  providerId: string | null;
  errorCode: string | null;
  createdAt: string;
}

/** The activity log: a traveller's own history, and an operator's view of one event. */
describe('delivery history', () => {
  let gateway: Gateway;
  const run = randomBytes(3).toString('hex');
  const asha = { userId: `hist-asha-${run}`, email: uniqueEmail('hist-asha'), phone: uniquePhone() };
  const ravi = { userId: `hist-ravi-${run}`, email: uniqueEmail('hist-ravi'), phone: uniquePhone() };
  // Possible for India but not a number India assigns: the sandbox, like Twilio, refuses it (21211).
  const refused = { userId: `hist-refused-${run}`, email: uniqueEmail('hist-refused'), phone: '+915555555555' };
  const ashaEvents = [randomUUID(), randomUUID(), randomUUID()];
  const raviEvent = randomUUID();
  const refusedEvent = randomUUID();
  let tokens: Record<string, string>;

  const get = (path: string, token: string) =>
    fetch(`${gateway.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const booking = (who: typeof asha, eventId: string, pnrNumber: string) =>
    bookingConfirmed({ eventId, pnrNumber, userId: who.userId, userEmail: who.email, userPhone: who.phone });
  const settledIn = async (eventIds: string[], count: number) =>
    waitFor(`${count} settled deliveries`, async () => {
      const { rows } = await gateway.pool.query(
        `SELECT count(*)::int AS n FROM deliveries WHERE event_id = ANY($1) AND status NOT IN ('sending', 'queued')`,
        [eventIds],
      );
      return rows[0].n >= count;
    });

  beforeAll(async () => {
    gateway = await startGateway('history');
    tokens = {
      asha: await signUserToken(gateway.config.JWT_SECRET, asha.userId),
      ravi: await signUserToken(gateway.config.JWT_SECRET, ravi.userId),
    };
    // One at a time, so that newest first has a meaning the test can check.
    for (const [i, eventId] of ashaEvents.entries()) {
      await gateway.producer.publish(booking(asha, eventId, `HA${run}${i}`));
      await settledIn([eventId], 4);
    }
    await gateway.producer.publish(booking(ravi, raviEvent, `HR${run}`));
    await gateway.producer.publish(booking(refused, refusedEvent, `HX${run}`));
    await settledIn([raviEvent], 4);
    await settledIn([refusedEvent], 4);
  });
  afterAll(() => gateway?.close());

  it("lists a person's own deliveries newest first, each with its channel, event type, status and times", async () => {
    const response = await get(`/users/${asha.userId}/deliveries?limit=100`, tokens.asha!);
    expect(response.status).toBe(200);
    const { items, nextCursor } = (await response.json()) as { items: HistoryItem[]; nextCursor: string | null };
    expect(nextCursor).toBeNull();
    expect(items).toHaveLength(12);
    expect(new Set(items.map((i) => i.eventId))).toEqual(new Set(ashaEvents));
    // Newest first: the last booking's four deliveries come before the first booking's.
    expect(items.slice(0, 4).every((i) => i.eventId === ashaEvents[2])).toBe(true);
    expect(items.slice(-4).every((i) => i.eventId === ashaEvents[0])).toBe(true);
    expect(items.map((i) => i.id)).toEqual([...items.map((i) => i.id)].sort((a, b) => b - a));
    for (const item of items) {
      expect(item.eventType).toBe('BOOKING_CONFIRMED');
      expect(['sent', 'delivered']).toContain(item.status);
      expect(item.providerId).toBeTruthy();
      expect(Number.isNaN(Date.parse(item.createdAt))).toBe(false);
    }
    expect(new Set(items.map((i) => i.channel))).toEqual(new Set(['email', 'sms', 'whatsapp', 'websocket']));
  });

  it('pages by cursor without gaps or repeats, and filters by channel', async () => {
    const seen: HistoryItem[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `limit=5&cursor=${cursor}` : 'limit=5';
      const page = (await (await get(`/users/${asha.userId}/deliveries?${query}`, tokens.asha!)).json()) as {
        items: HistoryItem[];
        nextCursor: string | null;
      };
      seen.push(...page.items);
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(12);
    expect(new Set(seen.map((i) => i.id)).size).toBe(12);

    const sms = (await (await get(`/users/${asha.userId}/deliveries?channel=sms`, tokens.asha!)).json()) as {
      items: HistoryItem[];
    };
    expect(sms.items.map((i) => i.channel)).toEqual(['sms', 'sms', 'sms']);
  });

  it("never shows another person's deliveries", async () => {
    const ravis = (await (await get(`/users/${ravi.userId}/deliveries`, tokens.ravi!)).json()) as {
      items: HistoryItem[];
    };
    expect(ravis.items.map((i) => i.eventId)).toEqual([raviEvent, raviEvent, raviEvent, raviEvent]);
    const peek = await get(`/users/${asha.userId}/deliveries`, tokens.ravi!);
    expect(peek.status).toBe(403);
    expect(JSON.stringify(await peek.json())).not.toContain(ashaEvents[0]!);
    expect((await fetch(`${gateway.apiUrl}/users/${asha.userId}/deliveries`)).status).toBe(401);
  });

  it('refuses a bad query with the parameter named', async () => {
    const response = await get(`/users/${asha.userId}/deliveries?limit=1000&cursor=zzz`, tokens.asha!);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { details: Array<{ path: string }> };
    expect(body.details.map((d) => d.path).sort()).toEqual(['cursor', 'limit']);
  });

  it("shows an operator every delivery of one event, with each attempt and the provider's error code", async () => {
    const admin = gateway.config.ADMIN_TOKEN;
    const response = await get(`/admin/events/${refusedEvent}`, admin);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      eventId: string;
      deliveries: Array<HistoryItem & { userId: string; tries: Array<{ status: string; errorCode: string | null }> }>;
    };
    expect(body.eventId).toBe(refusedEvent);
    expect(body.deliveries.map((d) => d.channel).sort()).toEqual(['email', 'sms', 'websocket', 'whatsapp']);
    expect(body.deliveries.every((d) => d.userId === refused.userId)).toBe(true);
    const sms = body.deliveries.find((d) => d.channel === 'sms')!;
    expect(sms.status).toBe('dead_lettered');
    expect(sms.errorCode).toBe('TWILIO_21211');
    expect(sms.tries.map((t) => t.errorCode)).toContain('TWILIO_21211');
    const email = body.deliveries.find((d) => d.channel === 'email')!;
    expect(email.tries.length).toBeGreaterThan(0);
    expect(email.tries.at(-1)!.errorCode).toBeNull();
    // The number itself is not in what the operator reads.
    expect(JSON.stringify(body)).not.toContain('5555555555');

    expect((await get(`/admin/events/${randomUUID()}`, admin)).status).toBe(404);
    expect((await get('/admin/events/not-a-uuid', admin)).status).toBe(400);
    expect((await get(`/admin/events/${refusedEvent}`, tokens.asha!)).status).toBe(403);
    expect((await fetch(`${gateway.apiUrl}/admin/events/${refusedEvent}`)).status).toBe(401);
  });
  it("pages one event's deliveries by cursor: followed to the end, every delivery once", async () => {
    const admin = gateway.config.ADMIN_TOKEN;
    const { rows } = await gateway.pool.query<{ id: string }>('SELECT id FROM deliveries WHERE event_id = $1', [
      refusedEvent,
    ]);
    expect(rows).toHaveLength(4);
    for (const limit of [1, 3]) {
      const seen: number[] = [];
      const pages: number[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
        const response = await get(`/admin/events/${refusedEvent}${query}`, admin);
        expect(response.status).toBe(200);
        const body = (await response.json()) as {
          eventId: string;
          deliveries: HistoryItem[];
          nextCursor: string | null;
        };
        expect(body.eventId).toBe(refusedEvent);
        expect(body.deliveries.length).toBeLessThanOrEqual(limit);
        pages.push(body.deliveries.length);
        seen.push(...body.deliveries.map((d) => d.id));
        cursor = body.nextCursor;
      } while (cursor && pages.length < 10);
      expect(pages).toEqual(limit === 1 ? [1, 1, 1, 1] : [3, 1]);
      expect(new Set(seen).size).toBe(seen.length);
      expect([...seen].sort((a, b) => a - b)).toEqual(rows.map((r) => Number(r.id)).sort((a, b) => a - b));
    }
    const bad = await get(`/admin/events/${refusedEvent}?limit=0&cursor=nope`, admin);
    expect(bad.status).toBe(400);
    const details = ((await bad.json()) as { details: Array<{ path: string }> }).details;
    expect(details.map((d) => d.path).sort()).toEqual(['cursor', 'limit']);
  });
});
