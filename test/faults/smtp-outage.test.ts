import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMaildev, stopMaildev } from '../../scripts/stack/maildev.js';
import { bookingConfirmed } from '../fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from '../helpers/full-gateway.js';
import { emailsTo } from '../helpers/maildev.js';
import { waitFor } from '../helpers/wait-for.js';

const OUTAGE_MS = 20_000;
const EVENTS = 500;

/** Fault 2: the SMTP server is away for 20 s in the middle of 500 bookings. */
describe('fault: the SMTP capture down for 20 s', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway('fault-smtp');
  });
  afterAll(async () => {
    await startMaildev(gateway.config.SMTP_URL, gateway.config.MAIL_PREVIEW_URL, () => {});
    await gateway?.close();
  });

  it('opens the breaker and pauses email, keeps the DLQ empty, delivers all 500 after, and holds up no other channel', async () => {
    const travellers = Array.from({ length: 10 }, (_, i) => ({
      userId: `smtp${i}-${randomBytes(3).toString('hex')}`,
      email: uniqueEmail(`smtp${i}`),
      phone: uniquePhone(),
    }));
    const events = Array.from({ length: EVENTS }, (_, i) => {
      const t = travellers[i % travellers.length]!;
      return bookingConfirmed({
        eventId: undefined,
        pnrNumber: `SMTP${String(i).padStart(5, '0')}`,
        userId: t.userId,
        userEmail: t.email,
        userPhone: t.phone,
      });
    });
    const phones = new Set(travellers.map((t) => t.phone));
    const sms = () => gateway.sandbox.store.list((m) => phones.has(m.to)).length;

    await stopMaildev();
    const outageStarted = Date.now();
    for (let i = 0; i < events.length; i += 100) await gateway.producer.publishMany(events.slice(i, i + 100));

    await waitFor('the SMTP breaker to open', () => gateway.worker.breakers.state('smtp') !== 'closed', {
      timeoutMs: OUTAGE_MS,
    });
    // Operators see it: in /readyz (the api stays ready) and in the metrics.
    const ready = await waitFor('/readyz to show it', async () => {
      const body = (await (await fetch(`${gateway.apiUrl}/readyz`)).json()) as {
        status: string;
        breakers: Record<string, string>;
      };
      return body.breakers.smtp !== 'closed' ? body : undefined;
    });
    expect(ready.status).toBe('ready');
    expect(await (await fetch(`${gateway.apiUrl}/metrics`)).text()).toMatch(
      /gateway_circuit_breaker_state\{provider="smtp"\} [12]/,
    );
    // SMS does not wait for email.
    await waitFor('every SMS while email is down', () => sms() === EVENTS, { timeoutMs: 60_000 });
    expect(Date.now() - outageStarted).toBeLessThan(OUTAGE_MS);

    // The scenario, not a synchronisation: the server stays away for the full 20 s.
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStarted)));
    const { rows: whileDown } = await gateway.pool.query(
      `SELECT count(*)::int AS n FROM dead_letters WHERE channel = 'email'`,
    );
    expect(whileDown[0].n).toBe(0);
    await startMaildev(gateway.config.SMTP_URL, gateway.config.MAIL_PREVIEW_URL, () => {});

    const addresses = travellers.map((t) => t.email);
    const mail = await waitFor(
      'all 500 emails',
      async () => {
        const caught = await emailsTo(addresses);
        return caught.length >= EVENTS ? caught : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    expect(mail).toHaveLength(EVENTS);
    expect(new Set(mail.map((m) => m.subject.match(/SMTP\d{5}/)?.[0])).size).toBe(EVENTS);
    const { rows: after } = await gateway.pool.query(`SELECT count(*)::int AS n FROM dead_letters`);
    expect(after[0].n).toBe(0);
    expect(gateway.worker.breakers.state('smtp')).toBe('closed');
    expect(sms()).toBe(EVENTS);
  });
});
