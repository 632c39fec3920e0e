import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingConfirmed } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { emailsTo } from './helpers/maildev.js';
import { unchangedFor, waitFor } from './helpers/wait-for.js';

interface Job {
  id: number;
  status: string;
  dryRun: boolean;
  request: { from: string; to: string; include: string[]; channels: string[] };
  progress: { partitions: number; partitionsDone: number; recordsRead: number; matched: number };
  outcomes: Record<string, { redriven: number; alreadyDelivered: number }>;
  actor: string;
  clientAddress: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/** One channel's counts: sent again, already delivered, and held back because discarded or failed for good. */
const counts = (redriven: number, alreadyDelivered: number, skippedDiscarded = 0, skippedFailed = 0) => ({
  redriven,
  alreadyDelivered,
  skippedDiscarded,
  skippedFailed,
});

/** The day a provider was misconfigured for an hour: the window is read again, and only what is missing goes out. */
describe('re-drive from the log', () => {
  let gateway: Gateway;
  const run = randomBytes(2).toString('hex');
  const travellers = Array.from({ length: 3 }, (_, i) => ({
    userId: `rd-${run}-${i}`,
    email: uniqueEmail(`rd${i}`),
    phone: uniquePhone(),
  }));
  const eventIds: string[] = [];
  let from: string;
  let to: string;

  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${gateway.apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${gateway.config.ADMIN_TOKEN}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  const finished = async (id: number) =>
    waitFor(
      `re-drive ${id} done`,
      async () => {
        const job = (await (await admin('GET', `/admin/redrive/${id}`)).json()) as Job;
        return job.status === 'running' ? undefined : job;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  const smsTo = (phone: string) => gateway.sandbox.store.list((m) => m.to === phone);
  const smsStatus = async () => {
    const { rows } = await gateway.pool.query<{ status: string }>(
      `SELECT status FROM deliveries WHERE event_id = ANY($1) AND channel = 'sms' ORDER BY status`,
      [eventIds],
    );
    return rows.map((r) => r.status);
  };

  beforeAll(async () => {
    gateway = await startGateway('redrive');
    from = new Date(Date.now() - 1_000).toISOString();
    // The hour texts were refused for good (Twilio 21612, as a misconfigured sender gets): SMS and WhatsApp alike.
    for (const t of travellers)
      gateway.sandbox.faults.set({ failNext: { count: 2, code: 21612, status: 400, to: t.phone } });
    for (const [i, t] of travellers.entries()) {
      const event = bookingConfirmed({
        eventId: undefined,
        pnrNumber: `RD${run}${i}`,
        userId: t.userId,
        userEmail: t.email,
        userPhone: t.phone,
      });
      const published = await gateway.producer.publish(event);
      eventIds.push(published.eventId);
    }
    await waitFor(
      'three SMS dead-lettered',
      async () => (await smsStatus()).join() === 'dead_lettered,dead_lettered,dead_lettered',
      {
        timeoutMs: 60_000,
      },
    );
    await waitFor('the emails', async () => (await emailsTo(travellers.map((t) => t.email))).length === 3);
    to = new Date(Date.now() + 1_000).toISOString();
    gateway.sandbox.faults.clear();
  });
  afterAll(() => gateway?.close());

  const start = async (body: Record<string, unknown>) => {
    const started = await admin('POST', '/admin/redrive', { from, to, ...body });
    expect(started.status).toBe(202);
    return finished(((await started.json()) as Job).id);
  };
  const smsSent = () => travellers.map((t) => smsTo(t.phone).length);

  it('counts in a dry run what is missing, and sends nothing; failed for good is held back unless included', async () => {
    const job = await start({ channels: ['sms', 'email'], dryRun: true });
    expect(job.status).toBe('done');
    expect(job.progress.matched).toBe(3);
    expect(job.progress.partitionsDone).toBe(job.progress.partitions);
    // Twilio refused the texts for good (21612): not what a re-drive sends unless the operator says so.
    expect(job.outcomes).toEqual({ sms: counts(0, 0, 0, 3), email: counts(0, 3) });
    const included = await start({ channels: ['sms', 'email'], dryRun: true, include: ['failed'] });
    expect(included.outcomes).toEqual({ sms: counts(3, 0), email: counts(0, 3) });
    await unchangedFor('nothing sent', () => travellers.flatMap((t) => smsTo(t.phone)).length, 1_500);
    expect(travellers.flatMap((t) => smsTo(t.phone))).toEqual([]);
  });

  it('never sends what an operator discarded, nor what failed for good, unless the request names it', async () => {
    // The operator throws the first traveller's dead SMS away.
    const { items } = (await (await admin('GET', '/admin/dlq?channel=sms&limit=200')).json()) as {
      items: Array<{ id: number; userId: string }>;
    };
    const letter = items.find((i) => i.userId === travellers[0]!.userId)!;
    expect((await admin('DELETE', `/admin/dlq/${letter.id}`)).status).toBe(204);

    const plain = await start({ channels: ['sms'] });
    expect(plain.outcomes).toEqual({ sms: counts(0, 0, 1, 2) });
    await unchangedFor('nothing sent', () => smsSent().join(), 1_500);
    expect(smsSent()).toEqual([0, 0, 0]);

    const failed = await start({ channels: ['sms', 'email'], include: ['failed'] });
    expect(failed.outcomes).toEqual({ sms: counts(2, 0, 1, 0), email: counts(0, 3) });
    await waitFor('an SMS each to the other two', () => smsSent().join() === '0,1,1', { timeoutMs: 60_000 });
    await unchangedFor('none to the discarded one, no second copy', () => smsSent().join(), 1_500);
    expect(smsSent()).toEqual([0, 1, 1]);
    expect(await emailsTo(travellers.map((t) => t.email))).toHaveLength(3);

    const discarded = await start({ channels: ['sms'], include: ['discarded'] });
    expect(discarded.outcomes).toEqual({ sms: counts(1, 2) });
    await waitFor('the discarded one, asked for by name', () => smsSent().join() === '1,1,1', { timeoutMs: 60_000 });
    await waitFor('the ledger settled', async () =>
      (await smsStatus()).every((s) => ['sent', 'delivered', 'queued'].includes(s)),
    );
    await unchangedFor('no second copy', () => smsSent().join(), 1_500);
    expect(smsSent()).toEqual([1, 1, 1]);

    // A re-drive of the same window now finds everything delivered, whatever it includes.
    const again = await start({ channels: ['sms'], include: ['discarded', 'failed'] });
    expect(again.outcomes).toEqual({ sms: counts(0, 3) });
  });

  it('keeps every re-drive for an admin to read: who, when, what window and what it included, and its counts', async () => {
    const first = (await (await admin('GET', '/admin/redrive?limit=2')).json()) as {
      items: Job[];
      nextCursor: string | null;
    };
    expect(first.items).toHaveLength(2);
    const rest = (await (await admin('GET', `/admin/redrive?cursor=${first.nextCursor}`)).json()) as {
      items: Job[];
      nextCursor: string | null;
    };
    expect(rest.nextCursor).toBeNull();
    const jobs = [...first.items, ...rest.items];
    // Newest first: the six re-drives above, in the order they ran, from the last.
    expect(jobs.map((j) => j.request.include)).toEqual([
      ['discarded', 'failed'],
      ['discarded'],
      ['failed'],
      [],
      ['failed'],
      [],
    ]);
    for (const job of jobs) {
      expect(job).toMatchObject({ status: 'done', actor: 'admin', request: { from, to } });
      expect(job.clientAddress).toBe('127.0.0.1');
      expect(Date.parse(job.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(job.createdAt));
    }
    expect(jobs[0]!.outcomes).toEqual({ sms: counts(0, 3) });
  });

  it('refuses a window that ends before it starts, and needs the admin token', async () => {
    const bad = await admin('POST', '/admin/redrive', { from: to, to: from });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { details: Array<{ path: string }> }).details[0]!.path).toBe('to');
    const unknown = await admin('POST', '/admin/redrive', { from, to, include: ['delivered'] });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { details: Array<{ path: string; message: string }> }).details).toEqual([
      { path: 'include.0', message: 'must be one of discarded, failed' },
    ]);
    expect((await fetch(`${gateway.apiUrl}/admin/redrive/1`)).status).toBe(401);
    expect((await admin('GET', '/admin/redrive/999999')).status).toBe(404);
  });
});
