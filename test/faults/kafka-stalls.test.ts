import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { runningPid } from '../../scripts/stack/daemon.js';
import { kafkaDaemon } from '../../scripts/stack/kafka.js';
import { bookingConfirmed } from '../fixtures/events.js';
import { uniqueEmail, uniquePhone } from '../helpers/full-gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { waitFor } from '../helpers/wait-for.js';

const BOOKINGS_PER_PHASE = 30;
/** The channel groups' session (channel.consumer.ts): a broker frozen for longer than this has a rebalance to make. */
const SESSION_MS = 6_000;

/**
 * The broker stalls without going away: frozen (SIGSTOP) for less than a session (kafkajs waits it out, no rejoin)
 * and for more (the broker expires the members, they rejoin). The channel groups must go on delivering afterwards,
 * nothing lost and nothing doubled. A heartbeat that fails inside a batch without a rejoin after it is driven in
 * src/consumers/paced-runner.test.ts: this broker does not produce it on demand.
 */
describe('fault: the Kafka broker stalls for a while', () => {
  let gw: GatewayProcess;
  const run = randomBytes(2).toString('hex').toUpperCase();
  const person = { userId: `ks-${run.toLowerCase()}`, email: uniqueEmail('ks'), phone: uniquePhone() };
  const posted: string[] = [];
  const sms = () => gw.sandbox.store.list((m) => m.to === person.phone);

  const brokerPid = () => {
    const pid = runningPid(kafkaDaemon);
    if (!pid) throw new Error('the stack did not start the Kafka broker');
    return pid;
  };
  /** Posts a phase's bookings for one traveller, retrying what is refused as a partner would. */
  async function postBookings(phase: string): Promise<void> {
    for (let i = 0; i < BOOKINGS_PER_PHASE; i++) {
      const pnr = `KS${run}${phase}${String(i).padStart(3, '0')}`;
      const event = bookingConfirmed({
        pnrNumber: pnr,
        userId: person.userId,
        userEmail: person.email,
        userPhone: person.phone,
      });
      await waitFor(`${pnr} accepted`, async () => (await gw.post(event).catch(() => undefined))?.status === 202, {
        timeoutMs: 60_000,
        intervalMs: 250,
      });
      posted.push(pnr);
      await sleep(20);
    }
  }
  /** Every SMS posted so far arrived, and none twice. */
  async function everySmsOnce(): Promise<void> {
    await waitFor('every SMS posted so far', () => sms().length >= posted.length, {
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    await sleep(2_000);
    const pnrs = sms().map((m) => m.body.match(/KS[0-9A-F]{4}[A-Z]\d{3}/)?.[0]);
    expect(pnrs.filter((p) => !p)).toEqual([]);
    expect(new Set(pnrs).size).toBe(pnrs.length);
    expect([...pnrs].sort()).toEqual([...posted].sort());
  }

  beforeAll(async () => {
    gw = await startGatewayProcess('stalls');
  }, 180_000);
  afterAll(async () => {
    process.kill(brokerPid(), 'SIGCONT');
    await gw?.close();
  }, 120_000);

  it.each([
    ['less', SESSION_MS / 2],
    ['more', SESSION_MS * 2],
  ])('goes on delivering after the broker was frozen for %s than a session', async (_, frozenMs) => {
    onTestFailed(() => console.error(gw.gateway.output(60)));
    const before = sms().length;
    const posting = postBookings(frozenMs < SESSION_MS ? 'C' : 'D');
    await waitFor('deliveries under way', () => sms().length >= before + 3, { timeoutMs: 60_000 });
    process.kill(brokerPid(), 'SIGSTOP');
    try {
      await sleep(frozenMs);
    } finally {
      process.kill(brokerPid(), 'SIGCONT');
    }
    await posting;
    await everySmsOnce();
    expect(gw.gateway.exit, 'the gateway process exited').toBeUndefined();
  });
});
