import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { bookingConfirmed } from '../fixtures/events.js';
import { uniqueEmail, uniquePhone } from '../helpers/full-gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { emailsTo } from '../helpers/maildev.js';
import { startServer, stopServer, type ServerName } from '../helpers/server-control.js';
import { waitFor } from '../helpers/wait-for.js';

const TRAVELLERS = 10;
const BOOKINGS = 80;
const SETTLE_MS = 180_000;

/** Which `/readyz` check names each server. */
const CHECK_OF: Record<ServerName, string> = { PostgreSQL: 'postgres', Redis: 'redis', RabbitMQ: 'rabbitmq' };

/**
 * A server the gateway needs restarts while bookings are being posted and delivered (an upgrade, a failover): the
 * gateway's process stays up throughout, `/readyz` says unready naming the server and then ready again, and every
 * booking reaches every channel exactly once. The gateway runs in a process of its own, as `npm start` runs it, so
 * an error that would stop it is seen as its exit.
 */
describe('fault: PostgreSQL, Redis and RabbitMQ restart under load', () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await startGatewayProcess('restarts');
  }, 180_000);
  afterAll(async () => {
    // Whatever happened, the servers are left running for the tests after this one.
    for (const server of ['PostgreSQL', 'Redis', 'RabbitMQ'] as const) await startServer(server).catch(() => {});
    await gw?.close();
  }, 120_000);

  it.each(['PostgreSQL', 'Redis', 'RabbitMQ'] as const)(
    '%s: the process stays up, /readyz follows the server, every booking is delivered once on every channel',
    async (server) => {
      onTestFailed(() => console.error(gw.gateway.output(60)));
      const run = randomBytes(2).toString('hex').toUpperCase();
      const people = Array.from({ length: TRAVELLERS }, (_, i) => ({
        userId: `rs-${run.toLowerCase()}-${i}`,
        email: uniqueEmail(`rs${i}`),
        phone: uniquePhone(),
      }));
      const pnrs = Array.from({ length: BOOKINGS }, (_, i) => `RS${run}${String(i).padStart(4, '0')}`);
      const phones = new Set(people.map((p) => p.phone));
      const sandboxTo = (prefix: string) =>
        gw.sandbox.store.list((m) => m.to.startsWith(prefix) && phones.has(m.to.replace(/^whatsapp:/, '')));

      // A partner posting bookings throughout, retrying what is refused (503 while a server is away) as partners do.
      const posting = (async () => {
        for (const [i, pnr] of pnrs.entries()) {
          const person = people[i % TRAVELLERS]!;
          const event = bookingConfirmed({
            pnrNumber: pnr,
            userId: person.userId,
            userEmail: person.email,
            userPhone: person.phone,
          });
          await waitFor(
            `booking ${pnr} accepted`,
            async () => (await gw.post(event).catch(() => undefined))?.status === 202,
            { timeoutMs: 90_000, intervalMs: 250 },
          );
          await sleep(25);
        }
      })();
      // Awaited below; a failure before then must not surface as an unhandled rejection.
      posting.catch(() => {});

      await waitFor('deliveries under way', () => sandboxTo('+').length >= 5, { timeoutMs: 60_000 });
      stopServer(server);
      const down = await waitFor(
        `/readyz to name ${server} unready`,
        async () => {
          const r = await gw.readiness().catch(() => undefined);
          return r?.code === 503 && r.body.checks[CHECK_OF[server]] === false ? r : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 200 },
      );
      expect(down.body.status).toBe('not_ready');
      // Away for a few seconds, as a restart is, while the partner keeps posting.
      await sleep(3_000);
      await startServer(server);
      await waitFor(
        '/readyz to be ready again',
        async () => (await gw.readiness().catch(() => undefined))?.code === 200,
        {
          timeoutMs: 60_000,
          intervalMs: 500,
        },
      );
      await posting;

      const pnrIn = (text: string) => text.match(new RegExp(`RS${run}\\d{4}`))?.[0];
      const once = (texts: string[]) => {
        const counts = new Map<string, number>();
        for (const pnr of texts.map(pnrIn)) if (pnr) counts.set(pnr, (counts.get(pnr) ?? 0) + 1);
        return {
          missing: pnrs.filter((p) => !counts.has(p)),
          doubled: [...counts].filter(([, n]) => n > 1).map(([p]) => p),
        };
      };
      await waitFor(
        'every SMS and WhatsApp',
        () => sandboxTo('+').length >= BOOKINGS && sandboxTo('whatsapp:').length >= BOOKINGS,
        {
          timeoutMs: SETTLE_MS,
          intervalMs: 1_000,
        },
      );
      const mail = await waitFor(
        'every email',
        async () => {
          const caught = await emailsTo(people.map((p) => p.email));
          return caught.length >= BOOKINGS ? caught : undefined;
        },
        { timeoutMs: SETTLE_MS, intervalMs: 1_000 },
      );
      await waitFor(
        'every live alert recorded delivered',
        async () => {
          const { rows } = await gw.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM deliveries WHERE channel = 'websocket' AND status = 'delivered'
                AND user_id = ANY($1)`,
            [people.map((p) => p.userId)],
          );
          return rows[0]!.n >= BOOKINGS;
        },
        { timeoutMs: SETTLE_MS, intervalMs: 1_000 },
      );
      // Anything doubled would have arrived by now too.
      await sleep(3_000);

      expect(once(sandboxTo('+').map((m) => m.body))).toEqual({ missing: [], doubled: [] });
      expect(once(sandboxTo('whatsapp:').map((m) => m.body))).toEqual({ missing: [], doubled: [] });
      expect(once(mail.map((m) => m.subject))).toEqual({ missing: [], doubled: [] });
      expect(sandboxTo('+')).toHaveLength(BOOKINGS);
      expect(sandboxTo('whatsapp:')).toHaveLength(BOOKINGS);
      expect(mail).toHaveLength(BOOKINGS);
      const { rows: ledger } = await gw.pool.query<{ channel: string; status: string; n: number }>(
        `SELECT channel, status, count(*)::int AS n FROM deliveries WHERE user_id = ANY($1) GROUP BY 1, 2 ORDER BY 1, 2`,
        [people.map((p) => p.userId)],
      );
      expect(ledger.filter((r) => r.status === 'sending' || r.status === 'failed')).toEqual([]);
      expect(ledger.filter((r) => r.channel === 'websocket')).toEqual([
        { channel: 'websocket', status: 'delivered', n: BOOKINGS },
      ]);
      expect(gw.gateway.exit, 'the gateway process exited').toBeUndefined();
    },
    300_000,
  );
});
