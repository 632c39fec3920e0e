import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingConfirmed } from './fixtures/events.js';
import { startGateway, uniqueEmail, type Gateway } from './helpers/full-gateway.js';
import { INGEST_HEADERS } from './helpers/gateway.js';
import { emailsTo } from './helpers/maildev.js';
import { unchangedFor, waitFor } from './helpers/wait-for.js';
import { startWebhookReceiver } from './helpers/webhook-receiver.js';

const ADMIN = { authorization: 'Bearer dev-admin-token', 'content-type': 'application/json' };
type Receiver = Awaited<ReturnType<typeof startWebhookReceiver>>;

/**
 * With WEBHOOK_BLOCK_PRIVATE (production's default), a receiver on the gateway's own network gets nothing, whatever
 * name it is registered under: the address is checked when the notice connects. WEBHOOK_ALLOWED_HOSTS lets one in.
 */
describe('status webhooks to addresses that are not public', () => {
  let gateway: Gateway;
  let inside: Receiver;
  let allowed: Receiver;
  beforeAll(async () => {
    inside = await startWebhookReceiver();
    // 127.0.0.2 is this machine too, and the one address the gateway is told to allow.
    allowed = await startWebhookReceiver({ host: '127.0.0.2' });
    gateway = await startGateway('webhook-addresses', {
      env: { WEBHOOK_BLOCK_PRIVATE: 'true', WEBHOOK_ALLOWED_HOSTS: '127.0.0.2', WEBHOOK_RETRY_DELAY_SECONDS: '1' },
    });
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
    await inside?.close();
    await allowed?.close();
  }, 60_000);

  const register = (url: string) =>
    fetch(`${gateway.apiUrl}/admin/webhooks`, {
      method: 'POST',
      headers: ADMIN,
      body: JSON.stringify({ apiKey: 'dev-ingest-key', url, statuses: ['sent'] }),
    });

  it('refuses to register a URL that names an inside address, naming url and the reason', async () => {
    for (const url of [inside.url, 'http://169.254.169.254/latest/meta-data', 'http://[::1]:8080/hooks']) {
      const answer = await register(url);
      expect(answer.status, url).toBe(400);
      const refusal = (await answer.json()) as { details: Array<{ path: string; message: string }> };
      expect(refusal.details).toEqual([{ path: 'url', message: expect.stringMatching(/is not public/) }]);
    }
  });

  it('posts nothing to a name that resolves inside, with the reason on the webhook, and posts to the allowed one', async () => {
    const byName = await register(`http://localhost:${inside.port}/hooks/delivery-status`);
    expect(byName.status).toBe(201);
    const { id } = (await byName.json()) as { id: number };
    expect((await register(allowed.url)).status).toBe(201);

    const email = uniqueEmail('addresses');
    const event = bookingConfirmed({
      eventId: randomUUID(),
      userId: `addresses-${randomBytes(3).toString('hex')}`,
      userEmail: email,
      userPhone: undefined,
    });
    const sent = await fetch(`${gateway.apiUrl}/events`, {
      method: 'POST',
      headers: INGEST_HEADERS,
      body: JSON.stringify(event),
    });
    expect(sent.status).toBe(202);
    await waitFor('the email', async () => (await emailsTo(email)).length === 1, { timeoutMs: 30_000 });

    await waitFor(
      'the notice at the allowed receiver',
      () => allowed.accepted().some((r) => r.notice.data.eventId === event.eventId),
      { timeoutMs: 30_000 },
    );
    const health = await waitFor(
      'the refusal on the webhook',
      async () => {
        const webhook = (await (await fetch(`${gateway.apiUrl}/admin/webhooks/${id}`, { headers: ADMIN })).json()) as {
          lastError: string | null;
          consecutiveFailures: number;
        };
        return webhook.lastError ? webhook : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(health.lastError).toMatch(/localhost \(127\.0\.0\.1\) is not public \(loopback\)/);
    expect(health.consecutiveFailures).toBeGreaterThan(0);
    // Retried (the name may point elsewhere later), and refused again each time: nothing ever reaches it.
    await unchangedFor('the inside receiver', () => inside.received.length, 3_000);
    expect(inside.received).toEqual([]);
  });
});
