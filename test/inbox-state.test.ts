import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxState } from '../src/channels/alert-contract.js';
import { signUserToken } from '../src/http/jwt.js';
import { bookingConfirmed } from './fixtures/events.js';
import { connectAlertClient, type AlertClient } from './helpers/alert-client.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { waitFor } from './helpers/wait-for.js';

interface InboxPage {
  items: Array<{ id: number; pnrNumber?: string; read: boolean }>;
  unread: number;
  nextCursor: string | null;
}

/** Read and unread, as a person's tabs and devices share it. */
describe('inbox state', () => {
  let gateway: Gateway;
  const run = randomBytes(3).toString('hex');
  const person = { userId: `inbox-${run}`, email: uniqueEmail('inbox'), phone: uniquePhone() };
  const other = { userId: `inbox-other-${run}`, email: uniqueEmail('inbox-o'), phone: uniquePhone() };
  let token: string;
  let otherToken: string;
  let tab: AlertClient;
  let phone: AlertClient;
  const pushed: InboxState[] = [];

  const call = (method: string, path: string, as = token) =>
    fetch(`${gateway.apiUrl}${path}`, { method, headers: { authorization: `Bearer ${as}` } });
  const inbox = async (query = '') =>
    (await (await call('GET', `/users/${person.userId}/inbox${query}`)).json()) as InboxPage;

  beforeAll(async () => {
    gateway = await startGateway('inbox');
    token = await signUserToken(gateway.config.JWT_SECRET, person.userId);
    otherToken = await signUserToken(gateway.config.JWT_SECRET, other.userId);
    tab = await connectAlertClient(gateway.apiUrl, gateway.config.JWT_SECRET, person.userId);
    phone = await connectAlertClient(gateway.apiUrl, gateway.config.JWT_SECRET, person.userId);
    phone.socket.on('inbox', (state: InboxState) => pushed.push(state));
    for (const [i, who] of [person, person, person, other].entries())
      await gateway.producer.publish(
        bookingConfirmed({
          eventId: undefined,
          pnrNumber: `IN${run}${i}`,
          userId: who.userId,
          userEmail: who.email,
          userPhone: who.phone,
        }),
      );
    await waitFor('three alerts on both sockets', () => tab.distinct().length === 3 && phone.distinct().length === 3, {
      timeoutMs: 60_000,
    });
  });
  afterAll(async () => {
    tab?.socket.disconnect();
    phone?.socket.disconnect();
    await gateway?.close();
  });

  it('lists the alerts newest first, all unread, with the count', async () => {
    const page = await inbox();
    expect(page.unread).toBe(3);
    expect(page.items.map((i) => i.read)).toEqual([false, false, false]);
    // Newest first is by inbox id: the three bookings (three PNRs, so three partitions) may land in any order.
    expect(new Set(page.items.map((i) => i.pnrNumber))).toEqual(new Set([0, 1, 2].map((i) => `IN${run}${i}`)));
    const ids = tab
      .distinct()
      .map((a) => a.id)
      .sort((a, b) => b - a);
    expect(page.items.map((i) => i.id)).toEqual(ids);
    expect(await (await call('GET', `/users/${person.userId}/inbox/unread`)).json()).toEqual({ unread: 3 });
    const first = await inbox('?limit=2');
    expect(first.items).toHaveLength(2);
    const rest = await inbox(`?limit=2&cursor=${first.nextCursor}`);
    expect([...first.items, ...rest.items].map((i) => i.id)).toEqual(page.items.map((i) => i.id));
    expect(rest.nextCursor).toBeNull();
  });

  it("marks one read, and the person's other socket hears the new count", async () => {
    const [newest] = (await inbox()).items;
    const response = await call('POST', `/users/${person.userId}/inbox/${newest!.id}/read`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: newest!.id, read: true, unread: 2 });
    await waitFor('the inbox event on the other socket', () => pushed.length === 1);
    expect(pushed[0]).toEqual({ unread: 2, read: [newest!.id] });
    const page = await inbox();
    expect(page.items.map((i) => i.read)).toEqual([true, false, false]);
    expect(page.unread).toBe(2);
  });

  it("marks all read, and cannot touch another person's inbox", async () => {
    const response = await call('POST', `/users/${person.userId}/inbox/read`);
    expect(await response.json()).toEqual({ marked: 2, unread: 0 });
    await waitFor('the second inbox event', () => pushed.length === 2);
    expect(pushed[1]).toEqual({ unread: 0, read: 'all' });
    expect((await inbox()).items.every((i) => i.read)).toBe(true);

    // The other person's alert stays unread, and their id is no one else's to mark.
    const theirs = (await (await call('GET', `/users/${other.userId}/inbox`, otherToken)).json()) as InboxPage;
    expect(theirs.unread).toBe(1);
    expect((await call('POST', `/users/${person.userId}/inbox/${theirs.items[0]!.id}/read`)).status).toBe(404);
    expect((await call('POST', `/users/${other.userId}/inbox/read`)).status).toBe(403);
    expect((await call('GET', `/users/${other.userId}/inbox/unread`, otherToken)).status).toBe(200);
    expect(await (await call('GET', `/users/${other.userId}/inbox/unread`, otherToken)).json()).toEqual({ unread: 1 });
    expect((await call('POST', `/users/${person.userId}/inbox/abc/read`)).status).toBe(400);
  });
});
