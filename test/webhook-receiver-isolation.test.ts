import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingConfirmed } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { INGEST_HEADERS } from './helpers/gateway.js';
import { waitFor } from './helpers/wait-for.js';
import { startWebhookReceiver } from './helpers/webhook-receiver.js';

const OTHER_KEY = `partner-b-${randomBytes(8).toString('hex')}`;
const ADMIN = { authorization: 'Bearer dev-admin-token', 'content-type': 'application/json' };
/** Long enough that a post to the hanging receiver is still open when the other partner's notices are in. */
const TIMEOUT_MS = 30_000;

type Receiver = Awaited<ReturnType<typeof startWebhookReceiver>>;

describe('status webhooks, one receiver hanging', () => {
  let gateway: Gateway;
  let hanging: Receiver;
  let healthy: Receiver;
  beforeAll(async () => {
    hanging = await startWebhookReceiver();
    healthy = await startWebhookReceiver();
    gateway = await startGateway('webhook-isolation', {
      env: {
        INGEST_API_KEYS: `dev-ingest-key,${OTHER_KEY}`,
        WEBHOOK_RETRY_DELAY_SECONDS: '1',
        WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      },
    });
  }, 120_000);
  afterAll(async () => {
    await hanging?.close();
    await gateway?.close();
    await healthy?.close();
  }, 60_000);

  const register = async (apiKey: string, url: string) => {
    const made = await fetch(`${gateway.apiUrl}/admin/webhooks`, {
      method: 'POST',
      headers: ADMIN,
      body: JSON.stringify({ apiKey, url }),
    });
    expect(made.status).toBe(201);
  };
  const book = async (apiKey: string, name: string) => {
    const event = bookingConfirmed({
      eventId: randomUUID(),
      pnrNumber: String(Date.now()).slice(-10),
      userId: `isolation-${name}-${randomBytes(3).toString('hex')}`,
      userEmail: uniqueEmail(name),
      userPhone: uniquePhone(),
    });
    const answer = await fetch(`${gateway.apiUrl}/events`, {
      method: 'POST',
      headers: { ...INGEST_HEADERS, 'x-api-key': apiKey },
      body: JSON.stringify(event),
    });
    expect(answer.status).toBe(202);
    return String(event.eventId);
  };

  it("posts a partner's notices while another partner's receiver hangs", async () => {
    await register('dev-ingest-key', hanging.url);
    await register(OTHER_KEY, healthy.url);
    hanging.answer('hang');
    // The hanging partner's notices come first, and its receiver holds the first of them open.
    for (const name of ['a1', 'a2', 'a3']) await book('dev-ingest-key', name);
    await waitFor('the hanging receiver to hold a post open', () => hanging.hanging() > 0, { timeoutMs: 60_000 });

    const eventId = await book(OTHER_KEY, 'b');
    // A booking's six statuses: email sent, SMS and WhatsApp sent and delivered, the live alert delivered.
    const notices = await waitFor(
      "every notice of the other partner's booking",
      () => {
        const got = healthy.accepted().filter((r) => r.notice.data.eventId === eventId);
        return got.length >= 6 && got;
      },
      { timeoutMs: 60_000 },
    );
    // ... all of them while the first posts to the hanging receiver are still waiting for its answer.
    expect(hanging.abandoned()).toBe(0);
    expect(hanging.hanging()).toBeGreaterThan(0);
    expect(notices.map((r) => `${String(r.notice.data.channel)}:${String(r.notice.data.status)}`).sort()).toEqual([
      'email:sent',
      'sms:delivered',
      'sms:sent',
      'websocket:delivered',
      'whatsapp:delivered',
      'whatsapp:sent',
    ]);
  }, 120_000);
});
