import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingConfirmed } from './fixtures/events.js';
import { uniqueEmail, uniquePhone } from './helpers/full-gateway.js';
import { emailsTo } from './helpers/maildev.js';
import { waitFor } from './helpers/wait-for.js';
import { startWorkerFleet, type WorkerFleet } from './helpers/worker-fleet.js';

const TRAVELLERS = 36;
const SMS_RATE = 4;
const WHATSAPP_RATE = 12;
const MARGIN_MS = 500;
const RUN = randomBytes(2).toString('hex');
// Senders of this run only: the windows are in the shared Redis, keyed by sender.
const SMS_FROM = `+1500${String(randomBytes(3).readUIntBE(0, 3) % 10_000_000).padStart(7, '0')}`;
const WHATSAPP_FROM = `whatsapp:+1415${String(randomBytes(3).readUIntBE(0, 3) % 10_000_000).padStart(7, '0')}`;

/** The most sends that fell in any one second: every window [t, t + 1 s) starting at a send. */
export function busiestSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let start = 0, end = 0; start < sorted.length; start += 1) {
    while (end < sorted.length && sorted[end]! < sorted[start]! + 1_000) end += 1;
    most = Math.max(most, end - start);
  }
  return most;
}

describe('send rates per provider sender, held across two workers', () => {
  let fleet: WorkerFleet;
  beforeAll(async () => {
    fleet = await startWorkerFleet('send-rate', {
      env: {
        TWILIO_SMS_FROM: SMS_FROM,
        TWILIO_WHATSAPP_FROM: WHATSAPP_FROM,
        SMS_SENDS_PER_SECOND: String(SMS_RATE),
        WHATSAPP_SENDS_PER_SECOND: String(WHATSAPP_RATE),
        // What an operator sets for how unevenly requests take the way to their provider. Here that way crosses a
        // machine shared by two workers, every server and the sandbox in the test's own process: a request held up
        // longer than the default 250 ms lands on the next one's second.
        SEND_RATE_MARGIN_MS: String(MARGIN_MS),
      },
    });
    await fleet.waitForGroups(2, { timeoutMs: 90_000 });
  }, 180_000);
  afterAll(async () => {
    await fleet?.close();
  }, 60_000);

  it('never sends more than the rate in any second, queues the rest without failing them, and holds up no other channel', async ({
    onTestFailed,
  }) => {
    onTestFailed(() => console.error(fleet.workers.map((w) => w.output(30)).join('\n')));
    const people = Array.from({ length: TRAVELLERS }, (_, i) => ({
      userId: `rate-${RUN}-${i}`,
      email: uniqueEmail(`rate${i}`),
      phone: uniquePhone(),
      pnr: `R${RUN.toUpperCase()}${String(i).padStart(4, '0')}`,
    }));
    const userIds = people.map((p) => p.userId);
    await fleet.producer.publishMany(
      people.map((p) =>
        bookingConfirmed({
          eventId: undefined,
          pnrNumber: p.pnr,
          userId: p.userId,
          userEmail: p.email,
          userPhone: p.phone,
        }),
      ),
    );
    const fromSender = (from: string) => fleet.sandbox.store.list((m) => m.from === from);

    // Every email goes out while most SMS still wait their turn: the SMS sender's rate holds up nothing else.
    await waitFor('every email', async () => (await emailsTo(people.map((p) => p.email))).length >= TRAVELLERS, {
      timeoutMs: 60_000,
    });
    expect(fromSender(SMS_FROM).length).toBeLessThan(TRAVELLERS / 2);

    await waitFor('every SMS', () => fromSender(SMS_FROM).length >= TRAVELLERS, { timeoutMs: 90_000 });
    await waitFor('every WhatsApp message', () => fromSender(WHATSAPP_FROM).length >= TRAVELLERS, {
      timeoutMs: 30_000,
    });
    const sms = fromSender(SMS_FROM);
    const whatsapp = fromSender(WHATSAPP_FROM);
    // One message per traveller on each channel, none twice.
    expect(new Set(sms.map((m) => m.to)).size).toBe(TRAVELLERS);
    expect(sms).toHaveLength(TRAVELLERS);
    expect(new Set(whatsapp.map((m) => m.to)).size).toBe(TRAVELLERS);
    expect(whatsapp).toHaveLength(TRAVELLERS);

    // As the provider saw them arrive: no second held more than the sender's rate.
    const arrivals = (list: typeof sms) => list.map((m) => m.dateCreated.getTime()).sort((a, b) => a - b);
    expect(
      busiestSecond(sms.map((m) => m.dateCreated.getTime())),
      `SMS arrivals, ms after the first: ${arrivals(sms).map((t) => t - arrivals(sms)[0]!)}`,
    ).toBeLessThanOrEqual(SMS_RATE);
    expect(busiestSecond(whatsapp.map((m) => m.dateCreated.getTime()))).toBeLessThanOrEqual(WHATSAPP_RATE);
    // And the rate was used, not undercut: 36 SMS at 4 a second, spaced (1 s + margin) / 4 apart.
    const span = (list: typeof sms) =>
      Math.max(...list.map((m) => m.dateCreated.getTime())) - Math.min(...list.map((m) => m.dateCreated.getTime()));
    const spacing = (1_000 + MARGIN_MS) / SMS_RATE;
    expect(span(sms)).toBeGreaterThan((TRAVELLERS - 1) * spacing * 0.9);
    expect(span(sms)).toBeLessThan((TRAVELLERS - 1) * spacing * 1.5);

    // Waiting is not failing: each SMS was sent on its first attempt, none retried or dead-lettered.
    const { rows } = await fleet.pool.query(
      `SELECT d.attempts, d.status, (SELECT count(*)::int FROM delivery_attempts a WHERE a.delivery_id = d.id AND a.error_code IS NOT NULL) AS failures
         FROM deliveries d WHERE d.user_id = ANY($1) AND d.channel = 'sms'`,
      [userIds],
    );
    expect(rows).toHaveLength(TRAVELLERS);
    expect(
      rows.filter((r) => r.attempts !== 1 || r.failures !== 0 || !['queued', 'sent', 'delivered'].includes(r.status)),
    ).toEqual([]);

    // Both workers sent SMS: the one window is shared, not one per process.
    const smsSentBy = await Promise.all(
      fleet.workers.map(async (worker) => {
        const text = await (await fetch(fleet.metricsUrlOf(worker))).text();
        const line = text.split('\n').find((l) => l.startsWith('gateway_send_rate_wait_seconds_count{channel="sms"}'));
        return Number(line?.split(' ')[1] ?? 0);
      }),
    );
    expect(
      smsSentBy.every((n) => n > 0),
      `SMS per worker: ${smsSentBy.join(', ')}`,
    ).toBe(true);
    expect(smsSentBy.reduce((a, b) => a + b, 0)).toBe(TRAVELLERS);
  }, 180_000);
});
