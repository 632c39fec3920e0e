import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayEventInput } from '../../src/events/index.js';
import type { AlertClient } from '../helpers/alert-client.js';
import { CHANNELS } from '../helpers/consumer-groups.js';
import { bookingConfirmed } from '../fixtures/events.js';
import { uniqueEmail, uniquePhone } from '../helpers/full-gateway.js';
import { emailsTo } from '../helpers/maildev.js';
import { leaveMailSentinel } from '../helpers/maildev-sentinel.js';
import { waitFor } from '../helpers/wait-for.js';
import { startWorkerFleet, type WorkerFleet } from '../helpers/worker-fleet.js';

const USERS = 20;
const EVENTS_PER_USER = 100;
const EVENTS = USERS * EVENTS_PER_USER;
/** The requirement: the dead worker's partitions are someone else's within 10 s. */
const REASSIGN_DEADLINE_MS = 10_000;
/** How long the reassignment is watched, so that a slow one is measured rather than only reported as too slow. */
const REASSIGN_WATCH_MS = 60_000;
const SETTLE_DEADLINE_MS = 180_000;

// PNRs of this run only (C + run + user + sequence), so the sinks' other contents never match.
const RUN = randomBytes(2).toString('hex').toUpperCase();
const pnrOf = (user: number, seq: number) => `C${RUN}${String(user).padStart(2, '0')}${String(seq).padStart(3, '0')}`;
const ownerOf = (pnr: string) => Number(pnr.slice(5, 7));
const PNR_IN_TEXT = new RegExp(`C${RUN}\\d{5}`);

interface Traveller {
  index: number;
  userId: string;
  email: string;
  phone: string;
}

/** What one channel's sink holds for the test's travellers: `user` is whose address it went to. */
type Caught = Array<{ user: number; pnr: string | undefined }>;

function tally(caught: Caught, allPnrs: string[]) {
  const counts = new Map<string, number>();
  for (const { pnr } of caught) if (pnr) counts.set(pnr, (counts.get(pnr) ?? 0) + 1);
  return {
    total: caught.length,
    perUser: Array.from({ length: USERS }, (_, u) => caught.filter((c) => c.user === u).length),
    missing: allPnrs.filter((pnr) => !counts.has(pnr)),
    duplicated: [...counts].filter(([, n]) => n > 1).map(([pnr, n]) => `${pnr}×${n}`),
    misrouted: caught.filter((c) => !c.pnr || ownerOf(c.pnr) !== c.user).length,
  };
}

async function ledgerByChannel(fleet: WorkerFleet, userIds: string[]) {
  const { rows } = await fleet.pool.query<{ channel: string; total: number; final: number; retaken: number }>(
    `SELECT channel, count(*)::int AS total, count(*) FILTER (WHERE status <> 'sending')::int AS final,
            count(*) FILTER (WHERE attempts > 1)::int AS retaken
       FROM deliveries WHERE user_id = ANY($1) GROUP BY channel ORDER BY channel`,
    [userIds],
  );
  return Object.fromEntries(
    CHANNELS.map((c) => [c, rows.find((r) => r.channel === c) ?? { channel: c, total: 0, final: 0, retaken: 0 }]),
  );
}

describe('fault: one of two worker processes is killed -9 in the middle of 2,000 booking events', () => {
  let fleet: WorkerFleet;
  beforeAll(async () => {
    fleet = await startWorkerFleet('crash');
    await fleet.waitForGroups(2, { timeoutMs: 90_000 });
  }, 180_000);
  // The survivor's stop waits out its shutdown deadline when it is busy; on a loaded machine that took over 60 s.
  afterAll(async () => {
    await fleet?.close();
  }, 150_000);

  it('every message is delivered exactly once per channel, and the partitions are reassigned within 10 s', async ({
    onTestFailed,
  }) => {
    onTestFailed(() => console.error(fleet.workers.map((w) => w.output(40)).join('\n')));
    const started = performance.now();
    const people: Traveller[] = Array.from({ length: USERS }, (_, index) => ({
      index,
      userId: `crash-${RUN.toLowerCase()}-${randomBytes(3).toString('hex')}-${index}`,
      email: uniqueEmail(`crash${index}`),
      phone: uniquePhone(),
    }));
    expect(new Set(people.map((p) => p.phone)).size).toBe(USERS);
    const userIds = people.map((p) => p.userId);
    const sentinel = await leaveMailSentinel(fleet.config.SMTP_URL);
    const clients: AlertClient[] = [];
    for (const person of people) clients.push(await fleet.connectAs(person.userId));

    // Interleaved, so every batch and every part of the run concerns every traveller.
    const events: GatewayEventInput[] = [];
    const pnrByEventId = new Map<string, string>();
    for (let seq = 0; seq < EVENTS_PER_USER; seq += 1) {
      for (const p of people) {
        const eventId = randomUUID();
        pnrByEventId.set(eventId, pnrOf(p.index, seq));
        events.push(
          bookingConfirmed({
            eventId,
            pnrNumber: pnrOf(p.index, seq),
            userId: p.userId,
            userEmail: p.email,
            userPhone: p.phone,
            userName: `Traveller ${p.index}`,
          }),
        );
      }
    }
    const allPnrs = [...pnrByEventId.values()];
    const publishing = (async () => {
      for (let i = 0; i < events.length; i += 200) await fleet.producer.publishMany(events.slice(i, i + 200));
    })();
    publishing.catch(() => undefined); // awaited below; this only keeps an early rejection from going unhandled

    // In the middle: a third of the 8,000 deliveries (4 channels × 2,000) have a row in the ledger.
    const rowsAt = async () =>
      Number(
        (await fleet.pool.query('SELECT count(*) FROM deliveries WHERE user_id = ANY($1)', [userIds])).rows[0].count,
      );
    const third = Math.ceil((EVENTS * CHANNELS.length) / 3);
    const rowsBeforeKill = await waitFor(
      'a third of the deliveries in the ledger',
      async () => {
        const rows = await rowsAt();
        return rows >= third ? rows : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 20 },
    );
    const [victim, survivor] = fleet.workers as [(typeof fleet.workers)[0], (typeof fleet.workers)[0]];
    const killedAt = performance.now();
    await victim.crash();
    const ledgerAtKill = await ledgerByChannel(fleet, userIds);

    const reassignedAfter = await fleet.waitForGroups(1, {
      timeoutMs: REASSIGN_WATCH_MS,
      since: killedAt,
      alive: [survivor],
    });
    const reassignMs = Math.max(...Object.values(reassignedAfter));
    await publishing;

    // Every delivery settled: none left in 'sending' (a claim whose sender died).
    const settleDeadline = performance.now() + SETTLE_DEADLINE_MS;
    let ledger = await ledgerByChannel(fleet, userIds);
    while (performance.now() < settleDeadline && !CHANNELS.every((c) => ledger[c]!.final === EVENTS)) {
      if (survivor.exit) throw new Error(`${survivor.name} exited: ${JSON.stringify(survivor.exit)}`);
      await sleep(500);
      ledger = await ledgerByChannel(fleet, userIds);
    }
    const settledAfterKillMs = Math.round(performance.now() - killedAt);
    const { rows: statuses } = await fleet.pool.query<{ channel: string; status: string; n: number }>(
      `SELECT channel, status, count(*)::int AS n FROM deliveries WHERE user_id = ANY($1) GROUP BY channel, status ORDER BY channel, status`,
      [userIds],
    );
    const { rows: unsettled } = await fleet.pool.query<{
      channel: string;
      event_id: string;
      attempts: number;
      status: string;
    }>(
      `SELECT channel, event_id, attempts, status FROM deliveries WHERE user_id = ANY($1) AND (status = 'sending' OR attempts > 1) ORDER BY channel`,
      [userIds],
    );

    // What the travellers got. MailDev stores a message just after answering 250: give it a moment to catch up.
    const addresses = people.map((p) => p.email);
    const mail = await waitFor(
      'every email in MailDev',
      async () => {
        const caught = await emailsTo(addresses);
        return caught.length >= ledger.email!.total ? caught : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    ).catch(() => emailsTo(addresses));
    const mailKept = await sentinel.stillThere();
    const addressOwner = new Map(people.map((p) => [p.email.toLowerCase(), p.index]));
    const phoneOwner = new Map(people.map((p) => [p.phone, p.index]));
    const sandboxCaught = (prefix: string): Caught =>
      fleet.sandbox.store
        .list((m) => m.to.startsWith(prefix) && phoneOwner.has(m.to.slice(prefix.length)))
        .map((m) => ({ user: phoneOwner.get(m.to.slice(prefix.length))!, pnr: PNR_IN_TEXT.exec(m.body)?.[0] }));
    const caught: Record<string, Caught> = {
      email: mail.map((m) => ({
        user: addressOwner.get(m.to[0]!.address.toLowerCase())!,
        pnr: PNR_IN_TEXT.exec(m.subject)?.[0],
      })),
      sms: sandboxCaught(''),
      whatsapp: sandboxCaught('whatsapp:'),
      websocket: clients.flatMap((c, user) =>
        c.distinct().map((a) => ({ user, pnr: a.pnrNumber as string | undefined })),
      ),
    };
    const sinks = Object.fromEntries(CHANNELS.map((c) => [c, tally(caught[c]!, allPnrs)]));
    const { rows: inbox } = await fleet.pool.query<{ user_id: string; event_id: string }>(
      'SELECT user_id, event_id FROM inbox WHERE user_id = ANY($1)',
      [userIds],
    );
    const inInbox = new Set(inbox.map((r) => r.event_id));
    // For each delivery the ledger never settled or that was claimed twice: did the person get it, and how often?
    const suspects = unsettled.map((row) => {
      const pnr = pnrByEventId.get(row.event_id)!;
      return {
        ...row,
        pnr,
        received: caught[row.channel]!.filter((c) => c.pnr === pnr).length,
        ...(row.channel === 'websocket' && { inInbox: inInbox.has(row.event_id) }),
      };
    });
    const sockets = clients.map((c) => ({
      received: c.received.length,
      distinctIds: c.distinct().length,
      eventIds: new Set(c.distinct().map((a) => a.eventId)).size,
    }));
    console.log(
      JSON.stringify(
        {
          reassignMs: Math.round(reassignMs),
          reassignedAfter: Object.fromEntries(Object.entries(reassignedAfter).map(([c, ms]) => [c, Math.round(ms)])),
          rowsBeforeKill,
          ledgerAtKill,
          ledger,
          settledAfterKillMs,
          statuses,
          suspects,
          mailKept,
          sinks: Object.fromEntries(
            Object.entries(sinks).map(([c, t]) => [
              c,
              {
                ...t,
                missing: t.missing.slice(0, 10),
                missingCount: t.missing.length,
                perUser: [Math.min(...t.perUser), Math.max(...t.perUser)],
              },
            ]),
          ),
          socketsReceived: sockets.reduce((n, s) => n + s.received, 0),
          socketReconnects: clients.reduce((n, c) => n + c.reconnects, 0),
          inboxRows: inbox.length,
          testMs: Math.round(performance.now() - started),
        },
        null,
        1,
      ),
    );

    expect(rowsBeforeKill, 'the kill came in the middle of the run').toBeLessThan(EVENTS * CHANNELS.length);
    expect(mailKept, 'MailDev kept its mail during the test (it was restarted or cleared: rerun)').toBe(true);
    expect
      .soft(reassignMs, `partitions reassigned ${Math.round(reassignMs)} ms after the kill`)
      .toBeLessThanOrEqual(REASSIGN_DEADLINE_MS);
    expect
      .soft(
        suspects.filter((s) => s.status === 'sending'),
        'deliveries left claimed by the dead worker',
      )
      .toEqual([]);
    for (const channel of CHANNELS) {
      const sink = sinks[channel]!;
      expect.soft(sink.duplicated, `${channel}: PNRs sent more than once`).toEqual([]);
      expect.soft(sink.missing, `${channel}: PNRs never sent`).toEqual([]);
      expect.soft(sink.misrouted, `${channel}: messages for someone else`).toBe(0);
      expect.soft(sink.perUser, `${channel}: messages per traveller`).toEqual(Array(USERS).fill(EVENTS_PER_USER));
    }
    // Each socket: 100 alerts (one per inbox id, as the alerts page counts them), for 100 distinct events, all its own.
    expect
      .soft(
        sockets.map((s) => [s.distinctIds, s.eventIds]),
        'alerts and distinct events per socket',
      )
      .toEqual(Array(USERS).fill([EVENTS_PER_USER, EVENTS_PER_USER]));
    clients.forEach((client, user) => {
      const expected = [...pnrByEventId]
        .filter(([, pnr]) => ownerOf(pnr) === user)
        .map(([id]) => id)
        .sort();
      expect
        .soft(
          client
            .distinct()
            .map((a) => a.eventId)
            .sort(),
          `socket of traveller ${user}`,
        )
        .toEqual(expected);
    });
    expect.soft(inbox.length, 'inbox rows').toBe(EVENTS);
    expect
      .soft(
        statuses.filter((s) => !['sent', 'queued', 'delivered'].includes(s.status)),
        'no delivery skipped, failed or unsettled',
      )
      .toEqual([]);
  }, 360_000);
});
