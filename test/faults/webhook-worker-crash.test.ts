import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingConfirmed } from '../fixtures/events.js';
import { uniqueEmail, uniquePhone } from '../helpers/full-gateway.js';
import { INGEST_HEADERS } from '../helpers/gateway.js';
import { unchangedFor, waitFor } from '../helpers/wait-for.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';
import { startWorkerFleet, type WorkerFleet } from '../helpers/worker-fleet.js';
import { spawnWorker } from '../helpers/worker-process.js';

const BOOKINGS = 5;
const EXPECTED = {
  email: ['sent'],
  sms: ['sent', 'delivered'],
  whatsapp: ['sent', 'delivered'],
  websocket: ['delivered'],
};
const NOTICES_PER_BOOKING = Object.values(EXPECTED).flat().length;

describe('delivery status notices through a worker killed with kill -9', () => {
  let fleet: WorkerFleet;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    fleet = await startWorkerFleet('webhook-crash', {
      workers: 1,
      env: { WEBHOOK_RETRY_DELAY_SECONDS: '1', WEBHOOK_TIMEOUT_MS: '1000' },
    });
    // Events POSTed to the api reach Kafka through a bridge, as in a deployment.
    fleet.workers.push(spawnWorker('bridge', fleet.env, 'bridge'));
    await fleet.waitForGroups(1, { timeoutMs: 90_000, alive: [fleet.workers[0]!] });
  }, 180_000);
  afterAll(async () => {
    await fleet?.close();
    await receiver?.close();
  }, 60_000);

  it('loses no status: what the dead worker had not posted, the next one posts, each once', async ({
    onTestFailed,
  }) => {
    onTestFailed(() => console.error(fleet.workers.map((w) => w.output(30)).join('\n')));
    const admin = { authorization: `Bearer ${fleet.config.ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const made = await fetch(`${fleet.apiUrl}/admin/webhooks`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ apiKey: 'dev-ingest-key', url: receiver.url }),
    });
    expect(made.status).toBe(201);

    // The receiver is down: every notice is refused and waits for its retry in the job queue.
    receiver.answer(503);
    const run = randomBytes(2).toString('hex');
    const eventIds: string[] = [];
    for (let i = 0; i < BOOKINGS; i += 1) {
      const event = bookingConfirmed({
        eventId: randomUUID(),
        pnrNumber: `W${run}${String(i).padStart(5, '0')}`.toUpperCase(),
        userId: `hook-crash-${run}-${i}`,
        userEmail: uniqueEmail(`crash${i}`),
        userPhone: uniquePhone(),
      });
      const answer = await fetch(`${fleet.apiUrl}/events`, {
        method: 'POST',
        headers: INGEST_HEADERS,
        body: JSON.stringify(event),
      });
      expect(answer.status).toBe(202);
      eventIds.push(event.eventId as string);
    }
    await waitFor(
      'every booking refused at the receiver at least once',
      () => eventIds.every((id) => receiver.received.some((r) => r.body.includes(id))),
      { timeoutMs: 60_000 },
    );

    const [first] = fleet.workers;
    await first!.crash();
    receiver.answer(200);
    const next = spawnWorker('worker-2', fleet.env);
    fleet.workers.push(next);

    const taken = (eventId: string) => receiver.accepted().filter((r) => r.notice.data.eventId === eventId);
    await waitFor(
      'every status of every booking, posted by the next worker',
      () => eventIds.every((id) => taken(id).length >= NOTICES_PER_BOOKING),
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    await unchangedFor('the notices taken', () => receiver.accepted().length, 3_000);

    for (const eventId of eventIds) {
      const byChannel: Record<string, string[]> = {};
      const notices = taken(eventId).sort((a, b) =>
        String(a.notice.data.occurredAt).localeCompare(String(b.notice.data.occurredAt)),
      );
      for (const { notice } of notices)
        (byChannel[String(notice.data.channel)] ??= []).push(String(notice.data.status));
      expect(byChannel, eventId).toEqual(EXPECTED);
    }
    // Each notice taken once: the retries of one notice carry one webhook-id, and none was taken twice.
    const ids = receiver.accepted().map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(BOOKINGS * NOTICES_PER_BOOKING);
  }, 240_000);
});
