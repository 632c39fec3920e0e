import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingConfirmed } from './fixtures/events.js';
import { uniqueEmail, uniquePhone } from './helpers/full-gateway.js';
import { emailsTo } from './helpers/maildev.js';
import { waitFor } from './helpers/wait-for.js';
import { startWorkerFleet, type WorkerFleet } from './helpers/worker-fleet.js';

/** `name{channel="x"} n` lines of one metric, as { x: n }. */
function perChannel(metrics: string, name: string, extra = ''): Record<string, number> {
  const line = new RegExp(`^${name}\\{channel="(\\w+)"${extra}\\} (\\d+)$`, 'gm');
  return Object.fromEntries([...metrics.matchAll(line)].map((m) => [m[1], Number(m[2])]));
}

describe('a worker process on its own (as in docker-compose.yml)', () => {
  let fleet: WorkerFleet;
  beforeAll(async () => {
    fleet = await startWorkerFleet('metrics', { workers: 1 });
    await fleet.waitForGroups(1, { timeoutMs: 90_000 });
  }, 180_000);
  afterAll(async () => {
    await fleet?.close();
  }, 60_000);

  it('serves its own /metrics: what it delivered, by channel, with the latency, and its breakers', async () => {
    const [worker] = fleet.workers;
    const traveller = {
      userId: `metrics-${randomBytes(3).toString('hex')}`,
      email: uniqueEmail('metrics'),
      phone: uniquePhone(),
    };
    await fleet.producer.publish(
      bookingConfirmed({ userId: traveller.userId, userEmail: traveller.email, userPhone: traveller.phone }),
    );
    await waitFor(
      'the email and both Twilio messages',
      async () =>
        (await emailsTo(traveller.email)).length === 1 &&
        fleet.sandbox.store.list((m) => m.to.endsWith(traveller.phone)).length === 2,
    );

    const metrics = await waitFor('all four deliveries counted', async () => {
      const text = await (await fetch(fleet.metricsUrlOf(worker!))).text();
      return Object.keys(perChannel(text, 'gateway_delivery_latency_seconds_count')).length === 4 ? text : undefined;
    });
    const one = { email: 1, sms: 1, whatsapp: 1, websocket: 1 };
    expect(perChannel(metrics, 'gateway_delivery_latency_seconds_count')).toEqual(one);
    expect(perChannel(metrics, 'gateway_delivery_outcomes_total', ',outcome="done"')).toEqual(one);
    expect(metrics).toMatch(/^gateway_circuit_breaker_state\{provider="smtp"\} 0$/m);
  });

  it('answers /healthz and /readyz on the same port, naming what a worker depends on', async () => {
    const [worker] = fleet.workers;
    const base = fleet.metricsUrlOf(worker!).replace(/\/metrics$/, '');
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { status: string; checks: Record<string, boolean> };
    expect(body.status).toBe('ready');
    expect(body.checks).toEqual({ kafka: true, postgres: true, redis: true });
  });
});
