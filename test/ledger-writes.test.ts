import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingConfirmed } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { INGEST_HEADERS } from './helpers/gateway.js';
import { waitFor } from './helpers/wait-for.js';
import { startWebhookReceiver } from './helpers/webhook-receiver.js';

const ADMIN = { authorization: 'Bearer dev-admin-token', 'content-type': 'application/json' };

/**
 * What the ledger writes per delivery is the gateway's largest cost at page scale. A status callback (two per SMS or
 * WhatsApp message) changes a delivery's status, error code and updated_at: it is written in place when no index
 * names those columns, and the status webhooks' triggers run only while a webhook is registered.
 */
describe('the ledger writes a status callback in place', () => {
  let gateway: Gateway;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    gateway = await startGateway('ledger-writes');
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
    await receiver?.close();
  }, 60_000);

  const query = async <T extends Record<string, unknown>>(text: string, values: unknown[] = []) =>
    (await gateway.pool.query<T>(text, values)).rows;

  async function book(phone: string): Promise<string> {
    const event = bookingConfirmed({
      eventId: randomUUID(),
      pnrNumber: `LW${randomBytes(4).toString('hex')}`,
      userId: `lw-${randomBytes(4).toString('hex')}`,
      userEmail: uniqueEmail('lw'),
      userPhone: phone,
    });
    const answer = await fetch(`${gateway.apiUrl}/events`, {
      method: 'POST',
      headers: INGEST_HEADERS,
      body: JSON.stringify(event),
    });
    expect(answer.status).toBe(202);
    return event.eventId as string;
  }

  /** The webhook triggers on deliveries, each with whether it runs. */
  const webhookTriggers = () =>
    query<{ tgname: string; enabled: boolean }>(
      `SELECT tgname, tgenabled <> 'D' AS enabled FROM pg_trigger
        WHERE tgrelid = 'deliveries'::regclass AND tgname LIKE '%webhooks' ORDER BY tgname`,
    );

  it('has no index on deliveries that names a column a status callback changes', async () => {
    const indexes = await query<{ name: string; definition: string }>(
      `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'deliveries'::regclass`,
    );
    expect(indexes.length).toBeGreaterThan(3);
    const naming = indexes.filter((index) => /\b(status|error_code|updated_at)\b/.test(index.definition));
    expect(naming).toEqual([]);
  });

  it('updates each SMS in place for its callbacks, and its final word takes it off the unsettled list', async () => {
    const stats = async () =>
      (
        await query<{ updated: string; hot: string }>(
          `SELECT n_tup_upd AS updated, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE relname = 'deliveries'`,
        )
      )[0]!;
    const before = await stats();
    const events = await Promise.all(Array.from({ length: 10 }, () => book(uniquePhone())));

    const sms = () =>
      query<{ id: string; status: string }>(
        `SELECT id, status FROM deliveries WHERE event_id = ANY($1::uuid[]) AND channel = 'sms'`,
        [events],
      );
    await waitFor(
      'every SMS delivered',
      async () => {
        const rows = await sms();
        return rows.length === events.length && rows.every((row) => row.status === 'delivered');
      },
      { timeoutMs: 60_000 },
    );
    // Each went on the list when Twilio took it and off it with its 'delivered' callback.
    const listed = await query(`SELECT delivery_id FROM unsettled_sends WHERE delivery_id = ANY($1::bigint[])`, [
      (await sms()).map((row) => row.id),
    ]);
    expect(listed).toEqual([]);

    // Each SMS had two callbacks ('sent', then 'delivered'); at the least one of them per SMS found room on its page.
    // PostgreSQL counts each backend's updates once that backend reports them, within about ten seconds: both counts
    // are waited for, as each connection of the pool reports on its own.
    await waitFor(
      'the callbacks counted, and as updates in place',
      async () => {
        const now = await stats();
        return (
          Number(now.updated) - Number(before.updated) >= events.length * 2 &&
          Number(now.hot) - Number(before.hot) >= events.length
        );
      },
      { timeoutMs: 20_000 },
    );
  });

  it('runs the status webhooks’ triggers only while a webhook is registered, and a webhook registered again hears every status', async () => {
    expect(await webhookTriggers()).toEqual([
      { tgname: 'deliveries_inserted_webhooks', enabled: false },
      { tgname: 'deliveries_updated_webhooks', enabled: false },
    ]);

    const register = async () => {
      const answer = await fetch(`${gateway.apiUrl}/admin/webhooks`, {
        method: 'POST',
        headers: ADMIN,
        body: JSON.stringify({ apiKey: 'dev-ingest-key', url: receiver.url }),
      });
      expect(answer.status).toBe(201);
      return ((await answer.json()) as { id: number }).id;
    };
    const first = await register();
    expect((await webhookTriggers()).every((t) => t.enabled)).toBe(true);
    const removed = await fetch(`${gateway.apiUrl}/admin/webhooks/${first}`, {
      method: 'DELETE',
      headers: { authorization: ADMIN.authorization },
    });
    expect(removed.status).toBe(204);
    expect((await webhookTriggers()).every((t) => !t.enabled)).toBe(true);

    await register();
    expect((await webhookTriggers()).every((t) => t.enabled)).toBe(true);
    const eventId = await book(uniquePhone());
    const smsStatuses = () =>
      receiver
        .accepted()
        .filter((r) => r.notice.data.eventId === eventId && r.notice.data.channel === 'sms')
        .map((r) => String(r.notice.data.status))
        .sort();
    await waitFor('the SMS statuses posted to the webhook', () => smsStatuses().length >= 2, { timeoutMs: 60_000 });
    expect(smsStatuses()).toEqual(['delivered', 'sent']);
  });
});
