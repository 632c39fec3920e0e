import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingConfirmed } from '../fixtures/events.js';
import { uniqueEmail, uniquePhone } from '../helpers/full-gateway.js';
import { emailsTo } from '../helpers/maildev.js';
import { waitFor } from '../helpers/wait-for.js';
import { startWorkerFleet, type WorkerFleet } from '../helpers/worker-fleet.js';
import { spawnWorker } from '../helpers/worker-process.js';

const TRAVELLERS = 10;
const EVENTS_PER_TRAVELLER = 40;
const EVENTS = TRAVELLERS * EVENTS_PER_TRAVELLER;
/** SHUTDOWN_TIMEOUT_MS's default; the test allows a little for the process to start exiting. */
const SHUTDOWN_DEADLINE_MS = 10_000;

const RUN = randomBytes(2).toString('hex').toUpperCase();
const pnrOf = (traveller: number, seq: number) =>
  `T${RUN}${String(traveller).padStart(2, '0')}${String(seq).padStart(3, '0')}`;
const PNR_IN_TEXT = new RegExp(`T${RUN}\\d{5}`);

/** How often each PNR was caught: every one of `all` should be there exactly once. */
function tally(pnrs: (string | undefined)[], all: string[]) {
  const counts = new Map<string, number>();
  for (const pnr of pnrs) if (pnr) counts.set(pnr, (counts.get(pnr) ?? 0) + 1);
  return {
    missing: all.filter((pnr) => !counts.has(pnr)),
    doubled: [...counts].filter(([, n]) => n > 1).map(([pnr, n]) => `${pnr}×${n}`),
  };
}

/** A rolling deploy: one of two workers gets SIGTERM while it delivers. */
describe('fault: a worker is sent SIGTERM under load', () => {
  let fleet: WorkerFleet;
  beforeAll(async () => {
    fleet = await startWorkerFleet('sigterm');
    await fleet.waitForGroups(2, { timeoutMs: 90_000 });
  }, 180_000);
  afterAll(async () => {
    await fleet?.close();
  }, 60_000);

  it('stops within 10 s with exit code 0, and every message still goes out exactly once', async ({ onTestFailed }) => {
    onTestFailed(() => console.error(fleet.workers.map((w) => w.output(40)).join('\n')));
    const people = Array.from({ length: TRAVELLERS }, (_, index) => ({
      index,
      userId: `sigterm-${RUN.toLowerCase()}-${index}`,
      email: uniqueEmail(`sigterm${index}`),
      phone: uniquePhone(),
    }));
    const events = [];
    for (let seq = 0; seq < EVENTS_PER_TRAVELLER; seq += 1)
      for (const p of people)
        events.push(
          bookingConfirmed({
            eventId: undefined,
            pnrNumber: pnrOf(p.index, seq),
            userId: p.userId,
            userEmail: p.email,
            userPhone: p.phone,
          }),
        );
    const all = events.map((e) => e.pnrNumber as string);
    await fleet.producer.publishMany(events);

    const userIds = people.map((p) => p.userId);
    const ledgerRows = async () =>
      Number(
        (await fleet.pool.query('SELECT count(*) FROM deliveries WHERE user_id = ANY($1)', [userIds])).rows[0].count,
      );
    // In the middle of the run: some deliveries done, most still to come.
    await waitFor('deliveries under way', async () => (await ledgerRows()) >= EVENTS / 2, {
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    const [leaving, staying] = fleet.workers as [(typeof fleet.workers)[0], (typeof fleet.workers)[0]];
    const signalledAt = performance.now();
    await leaving.stop(30_000);
    const stoppedInMs = performance.now() - signalledAt;
    expect(leaving.exit, leaving.output(20)).toEqual({ code: 0, signal: null });
    expect(stoppedInMs).toBeLessThan(SHUTDOWN_DEADLINE_MS);
    expect(staying.exit).toBeUndefined();

    // The other worker takes its partitions over and finishes the run.
    const phones = new Set(people.map((p) => p.phone));
    const sandbox = (prefix: string) =>
      fleet.sandbox.store
        .list((m) => m.to.startsWith(prefix) && phones.has(m.to.slice(prefix.length)))
        .map((m) => PNR_IN_TEXT.exec(m.body)?.[0]);
    await waitFor(
      'every SMS and WhatsApp message',
      () => sandbox('').length >= EVENTS && sandbox('whatsapp:').length >= EVENTS,
      {
        timeoutMs: 120_000,
        intervalMs: 500,
      },
    );
    const mail = await waitFor(
      'every email',
      async () => {
        const caught = await emailsTo(people.map((p) => p.email));
        return caught.length >= EVENTS ? caught : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    // Anything late, or doubled, has had time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    expect(tally(sandbox(''), all)).toEqual({ missing: [], doubled: [] });
    expect(tally(sandbox('whatsapp:'), all)).toEqual({ missing: [], doubled: [] });
    expect(
      tally(
        (await emailsTo(people.map((p) => p.email))).map((m) => PNR_IN_TEXT.exec(m.subject)?.[0]),
        all,
      ),
    ).toEqual({
      missing: [],
      doubled: [],
    });
    expect(mail.length).toBeGreaterThanOrEqual(EVENTS);
    // A clean stop abandons no claim: nothing was left 'sending' for the other worker to take over.
    const { rows } = await fleet.pool.query(
      `SELECT channel, status, attempts, count(*)::int AS n FROM deliveries
        WHERE user_id = ANY($1) AND (status = 'sending' OR attempts > 1) GROUP BY 1, 2, 3`,
      [userIds],
    );
    expect(rows).toEqual([]);
  });

  it('exits 1 when it cannot stop within SHUTDOWN_TIMEOUT_MS', async () => {
    const { config } = fleet;
    const hasty = spawnWorker('worker-hasty', {
      KAFKA_TOPIC_PREFIX: config.KAFKA_TOPIC_PREFIX,
      AMQP_QUEUE_PREFIX: config.AMQP_QUEUE_PREFIX,
      DATABASE_URL: config.DATABASE_URL,
      TWILIO_API_BASE_URL: config.TWILIO_API_BASE_URL,
      PUBLIC_URL: config.PUBLIC_URL,
      // Leaving a consumer group alone takes longer than this.
      SHUTDOWN_TIMEOUT_MS: '100',
    });
    try {
      await fleet.waitForGroups(2, { timeoutMs: 90_000, alive: [hasty] });
      await hasty.stop(30_000);
      expect(hasty.exit, hasty.output(20)).toEqual({ code: 1, signal: null });
      expect(hasty.output()).toMatch(/shutdown did not finish in time/);
    } finally {
      await hasty.crash();
    }
  });
});
