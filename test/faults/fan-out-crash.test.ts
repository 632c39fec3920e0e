import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fieldCipherOf } from '../../src/util/field-cipher.js';
import { addItineraries, makeTravellers, seedUsers } from '../../scripts/bench/gateway/travellers.js';
import type { AlertClient } from '../helpers/alert-client.js';
import { CHANNELS } from '../helpers/consumer-groups.js';
import { emailsTo } from '../helpers/maildev.js';
import { leaveMailSentinel } from '../helpers/maildev-sentinel.js';
import { waitFor } from '../helpers/wait-for.js';
import { startWorkerFleet, type WorkerFleet } from '../helpers/worker-fleet.js';

const TRAVELLERS = 2_000;
/** Travellers with the alerts page open: every one of them sees the alert live, once. */
const WATCHERS = 100;
const RUN = randomBytes(3).toString('hex');
// As the event contract writes it (upper case), so the itineraries seeded below match it.
const TRAIN = `T${RUN}`.toUpperCase();

/** What a worker has settled so far on each channel, as its own /metrics counts it. */
async function settledBy(fleet: WorkerFleet, worker: WorkerFleet['workers'][number]): Promise<Record<string, number>> {
  const counts: Record<string, number> = Object.fromEntries(CHANNELS.map((c) => [c, 0]));
  // A worker still starting its metrics server has settled nothing yet.
  const response = await fetch(fleet.metricsUrlOf(worker)).catch(() => undefined);
  if (!response) return counts;
  for (const line of (await response.text()).split('\n')) {
    const match = /^gateway_delivery_outcomes_total\{channel="(\w+)",outcome="done"\} (\d+)/.exec(line);
    if (match) counts[match[1]!] = Number(match[2]);
  }
  return counts;
}

/** How many times each key occurs, and the keys that occur other than once. */
function countsOf(keys: string[], expected: string[]) {
  const counts = new Map(expected.map((k) => [k, 0]));
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  const off = [...counts].filter(([, n]) => n !== 1);
  return { off: off.slice(0, 10).map(([k, n]) => `${k}×${n}`), offCount: off.length };
}

describe('fault: one of two workers is killed -9 in the middle of a disruption to 2,000 travellers', () => {
  let fleet: WorkerFleet;
  beforeAll(async () => {
    fleet = await startWorkerFleet('fan-out-crash');
    await fleet.waitForGroups(2, { timeoutMs: 90_000 });
  }, 180_000);
  afterAll(async () => {
    await fleet?.close();
  }, 150_000);

  it('both workers share the disruption, and each traveller gets its alert, SMS, WhatsApp message and email once', async ({
    onTestFailed,
  }) => {
    onTestFailed(() => console.error(fleet.workers.map((w) => w.output(40)).join('\n')));
    const travellers = makeTravellers(`F${RUN}`, TRAVELLERS);
    const userIds = travellers.map((t) => t.userId);
    await seedUsers(fleet.pool, fieldCipherOf(fleet.config), travellers);
    await addItineraries(fleet.pool, travellers, TRAIN);
    const sentinel = await leaveMailSentinel(fleet.config.SMTP_URL);
    const watchers = travellers.filter((t) => t.index % (TRAVELLERS / WATCHERS) === 0);
    const clients: AlertClient[] = await Promise.all(watchers.map((t) => fleet.connectAs(t.userId)));

    const { eventId } = await fleet.producer.publish({
      eventType: 'TRAVEL_DISRUPTION',
      disruptionType: 'TRAIN_DELAY',
      trainNumber: TRAIN,
      payload: { minutes: 45, reason: 'signal failure' },
    });

    // A quarter of the 8,000 deliveries recorded, and on every channel each worker has delivered some of them: the
    // disruption is shared (a channel group reads the disruption's own partition with one member only).
    const [victim, survivor] = fleet.workers as [WorkerFleet['workers'][number], WorkerFleet['workers'][number]];
    const rowsAt = async () =>
      Number((await fleet.pool.query('SELECT count(*) FROM deliveries WHERE event_id = $1', [eventId])).rows[0].count);
    const all = TRAVELLERS * CHANNELS.length;
    const beforeKill = await waitFor(
      'a quarter of the deliveries recorded, by both workers',
      async () => {
        const [rows, byVictim, bySurvivor] = await Promise.all([
          rowsAt(),
          settledBy(fleet, victim),
          settledBy(fleet, survivor),
        ]);
        const shared = CHANNELS.every((c) => byVictim[c]! > 0 && bySurvivor[c]! > 0);
        return rows >= all / 4 && shared ? { rows, byVictim, bySurvivor } : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 50 },
    );
    await victim.crash();

    // Everything settles: what the dead worker held is taken over once its leases end.
    const ledger = await waitFor(
      'every delivery settled',
      async () => {
        const { rows } = await fleet.pool.query<{ channel: string; status: string; n: number }>(
          `SELECT channel, status, count(*)::int AS n FROM deliveries WHERE event_id = $1 GROUP BY channel, status`,
          [eventId],
        );
        const settled = rows.filter((r) => r.status !== 'sending').reduce((n, r) => n + r.n, 0);
        return settled >= all ? rows : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 1_000 },
    );

    // What the travellers got.
    const phones = travellers.map((t) => t.phone);
    const sandboxTo = (prefix: string) =>
      fleet.sandbox.store
        .list((m) => m.to.startsWith(`${prefix}+9198`) && m.body.includes(TRAIN))
        .map((m) => m.to.slice(prefix.length));
    const addresses = travellers.map((t) => t.email);
    const mail = await waitFor(
      'every email in MailDev',
      async () => {
        const caught = await emailsTo(addresses);
        return caught.length >= TRAVELLERS ? caught : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 2_000 },
    ).catch(() => emailsTo(addresses));
    const { rows: inbox } = await fleet.pool.query<{ user_id: string }>(
      'SELECT user_id FROM inbox WHERE event_id = $1',
      [eventId],
    );
    await waitFor('every open alerts page', () => clients.every((c) => c.distinct().length >= 1), {
      timeoutMs: 30_000,
    }).catch(() => undefined);

    const report = {
      beforeKill,
      ledger,
      sms: countsOf(sandboxTo(''), phones),
      whatsapp: countsOf(sandboxTo('whatsapp:'), phones),
      email: countsOf(
        mail.map((m) => m.to[0]!.address.toLowerCase()),
        addresses.map((a) => a.toLowerCase()),
      ),
      inbox: countsOf(
        inbox.map((r) => r.user_id),
        userIds,
      ),
      live: countsOf(
        clients.flatMap((c, i) => c.distinct().map(() => watchers[i]!.userId)),
        watchers.map((w) => w.userId),
      ),
    };
    console.log(JSON.stringify(report));

    expect(beforeKill.rows, 'the kill came in the middle of the disruption').toBeLessThan(all);
    expect(
      await sentinel.stillThere(),
      'MailDev kept its mail during the test (it was restarted or cleared: rerun)',
    ).toBe(true);
    expect.soft(report.sms, 'SMS per traveller').toEqual({ off: [], offCount: 0 });
    expect.soft(report.whatsapp, 'WhatsApp messages per traveller').toEqual({ off: [], offCount: 0 });
    expect.soft(report.email, 'emails per traveller').toEqual({ off: [], offCount: 0 });
    expect.soft(report.inbox, 'alerts in the inbox per traveller').toEqual({ off: [], offCount: 0 });
    expect.soft(report.live, 'live alerts per open page').toEqual({ off: [], offCount: 0 });
    for (const client of clients) expect.soft(client.distinct().map((a) => a.eventId)).toEqual([eventId]);
    expect
      .soft(
        ledger.filter((r) => !['sent', 'queued', 'delivered'].includes(r.status)),
        'no delivery skipped, failed or unsettled',
      )
      .toEqual([]);
  }, 420_000);
});
