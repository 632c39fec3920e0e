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
  progress: { partitions: number; partitionsDone: number; recordsRead: number; matched: number };
  outcomes: Record<string, { redriven: number; alreadyDelivered: number }>;
}

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

  it('counts in a dry run what is missing, and sends nothing', async () => {
    const started = await admin('POST', '/admin/redrive', { from, to, channels: ['sms', 'email'], dryRun: true });
    expect(started.status).toBe(202);
    const job = await finished(((await started.json()) as Job).id);
    expect(job.status).toBe('done');
    expect(job.progress.matched).toBe(3);
    expect(job.progress.partitionsDone).toBe(job.progress.partitions);
    expect(job.outcomes).toEqual({
      sms: { redriven: 3, alreadyDelivered: 0 },
      email: { redriven: 0, alreadyDelivered: 3 },
    });
    await unchangedFor('nothing sent', () => travellers.flatMap((t) => smsTo(t.phone)).length, 1_500);
    expect(travellers.flatMap((t) => smsTo(t.phone))).toEqual([]);
  });

  it('sends only what was missing: one SMS each, and no email twice', async () => {
    const started = await admin('POST', '/admin/redrive', { from, to, channels: ['sms', 'email'] });
    const job = await finished(((await started.json()) as Job).id);
    expect(job.outcomes).toEqual({
      sms: { redriven: 3, alreadyDelivered: 0 },
      email: { redriven: 0, alreadyDelivered: 3 },
    });
    await waitFor('an SMS each', () => travellers.every((t) => smsTo(t.phone).length === 1), { timeoutMs: 60_000 });
    await waitFor('the ledger settled', async () =>
      (await smsStatus()).every((s) => ['sent', 'delivered', 'queued'].includes(s)),
    );
    await unchangedFor('no second copy', () => travellers.flatMap((t) => smsTo(t.phone)).length, 1_500);
    expect(await emailsTo(travellers.map((t) => t.email))).toHaveLength(3);

    // A second re-drive of the same window finds everything delivered.
    const again = await finished(
      ((await (await admin('POST', '/admin/redrive', { from, to, channels: ['sms'] })).json()) as Job).id,
    );
    expect(again.outcomes).toEqual({ sms: { redriven: 0, alreadyDelivered: 3 } });
  });

  it('refuses a window that ends before it starts, and needs the admin token', async () => {
    const bad = await admin('POST', '/admin/redrive', { from: to, to: from });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { details: Array<{ path: string }> }).details[0]!.path).toBe('to');
    expect((await fetch(`${gateway.apiUrl}/admin/redrive/1`)).status).toBe(401);
    expect((await admin('GET', '/admin/redrive/999999')).status).toBe(404);
  });
});
