import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/util/free-port.js';
import { bookingConfirmed } from './fixtures/events.js';
import { freshDatabase, uniqueEmail, uniquePhone } from './helpers/full-gateway.js';
import { INGEST_HEADERS } from './helpers/gateway.js';
import { testConfig, uniquePrefix } from './helpers/kafka.js';
import { emailsTo } from './helpers/maildev.js';
import { waitFor } from './helpers/wait-for.js';
import { spawnWorker, type WorkerProcess } from './helpers/worker-process.js';

/** The demo travellers `npm start` seeds (src/db/demo-seed.ts), in every spelling a log line might use. */
const SEEDED = ['asha@example.com', 'ravi@example.com', 'meera@example.com', '+919876543210', '+919812345678'];
const spellings = (phone: string) => [phone, phone.slice(1), phone.slice(3), `whatsapp:${phone}`];

/**
 * The gateway as `npm start` runs it (sandbox, worker, bridge and api in one process, demo data seeded), at debug
 * level, through a day's events: what it logs is read line by line.
 */
describe('the logs of a full run', () => {
  let gateway: WorkerProcess;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  const lines: string[] = [];
  let api: string;
  let sandbox: string;
  const traveller = {
    userId: `logs-${randomBytes(3).toString('hex')}`,
    email: uniqueEmail('logs'),
    phone: uniquePhone(),
    name: `Zebulon ${randomBytes(3).toString('hex')}`,
  };
  // Possible for India but not a number India assigns: the sandbox, like Twilio, refuses it (21211) quoting it.
  const refusedPhone = '+915555555555';
  const refusedEmail = uniqueEmail('logs-refused');

  beforeAll(async () => {
    const prefix = uniquePrefix('logs');
    database = await freshDatabase(testConfig(prefix).DATABASE_URL);
    const [port, sandboxPort] = [await freePort(), await freePort()];
    api = `http://127.0.0.1:${port}`;
    sandbox = `http://127.0.0.1:${sandboxPort}`;
    gateway = spawnWorker(
      'gateway',
      {
        NODE_ENV: 'development',
        LOG_LEVEL: 'debug',
        KAFKA_TOPIC_PREFIX: prefix,
        AMQP_QUEUE_PREFIX: prefix,
        DATABASE_URL: database.url,
        PORT: String(port),
        SANDBOX_PORT: String(sandboxPort),
        TWILIO_API_BASE_URL: sandbox,
        PUBLIC_URL: api,
      },
      'sandbox,worker,bridge,api',
    );
    for (const stream of [gateway.child.stdout!, gateway.child.stderr!])
      stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    await waitFor('the welcome text', () => lines.some((l) => l.includes('Notification gateway running')), {
      timeoutMs: 90_000,
      intervalMs: 200,
    });
  }, 120_000);
  afterAll(async () => {
    await gateway?.crash();
    await database?.drop();
  });

  it('prints no error-level line, redacts every address, number and name, and stops cleanly', async () => {
    const post = (body: unknown) =>
      fetch(`${api}/events`, { method: 'POST', headers: INGEST_HEADERS, body: JSON.stringify(body) });
    // A disruption to the seeded travellers (flight W2121: demo-ravi, demo-meera), a booking for a new one, and a
    // refused event that carries an address.
    expect((await post(JSON.parse(readFileSync('examples/flight-delay.json', 'utf8')))).status).toBe(202);
    const booking = bookingConfirmed({
      eventId: undefined,
      userId: traveller.userId,
      userEmail: traveller.email,
      userPhone: traveller.phone,
      userName: traveller.name,
      passengerName: traveller.name,
    });
    expect((await post(booking)).status).toBe(202);
    const refused = {
      ...booking,
      eventId: undefined,
      userId: `${traveller.userId}-x`,
      userEmail: refusedEmail,
      userPhone: refusedPhone,
    };
    expect((await post(refused)).status).toBe(202);
    expect(
      (await post({ ...booking, userEmail: `not an address ${traveller.email}`, eventId: undefined })).status,
    ).toBe(400);
    const login = await fetch(`${api}/auth/dev-login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'demo-ravi' }),
    });
    const { token } = (await login.json()) as { token: string };
    const patched = await fetch(`${api}/users/demo-ravi/preferences`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ quietHours: null }),
    });
    expect(patched.status).toBe(200);

    // Delivered: the new traveller's email and both of ravi's Twilio messages.
    await waitFor('the booking email', async () => (await emailsTo(traveller.email)).length === 1, {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    await waitFor(
      "ravi's SMS and WhatsApp",
      async () => {
        const response = await fetch(`${sandbox}/sandbox/messages?to=${encodeURIComponent('+919812345678')}`);
        const { threads } = (await response.json()) as { threads: unknown[] };
        return threads.length >= 1;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );

    await waitFor('the refused SMS dead-lettered', () => lines.some((l) => l.includes('delivery failed permanently')), {
      timeoutMs: 60_000,
      intervalMs: 500,
    });

    await gateway.stop(30_000);
    expect(gateway.exit).toEqual({ code: 0, signal: null });

    const entries = lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as { level: number; msg: string }];
      } catch {
        return [];
      }
    });
    expect(entries.length).toBeGreaterThan(20);
    expect(entries.filter((e) => e.level >= 50).map((e) => e.msg)).toEqual([]);
    const personal = [
      ...SEEDED.flatMap((value) => (value.startsWith('+') ? spellings(value) : [value])),
      traveller.email,
      ...spellings(traveller.phone),
      ...spellings(refusedPhone),
      refusedEmail,
      traveller.name,
    ];
    const leaks = personal.flatMap((value) => lines.filter((l) => l.includes(value)).map((l) => `${value}: ${l}`));
    expect(leaks).toEqual([]);
  });
});
