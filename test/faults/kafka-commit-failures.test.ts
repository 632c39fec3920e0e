import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { freePort } from '../../src/util/free-port.js';
import { bookingConfirmed } from '../fixtures/events.js';
import { uniqueEmail, uniquePhone } from '../helpers/full-gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { startKafkaFaultProxy, type KafkaFaultProxy } from '../helpers/kafka-fault-proxy.js';
import { startOwnBroker, type OwnBroker } from '../helpers/kafka-own-broker.js';
import { waitFor } from '../helpers/wait-for.js';

const BOOKINGS_PER_PHASE = 20;
/**
 * How long commits are refused: three of the channel groups' commit intervals (1 s, paced-runner.ts), so that several
 * commits fail, yet short enough that kafkajs' backoff between its retries (300 ms, doubling) never outlasts the
 * session (6 s): the members are not expired, and no rejoin follows. A longer refusal ends in a rejoin, as a broker
 * frozen for more than a session does (kafka-stalls.test.ts).
 */
const REFUSED_MS = 3_000;
/**
 * Longer than kafkajs' retries last: the consumers that gave up are restarted by kafkajs, the members expired ones
 * rejoin, and the outage gate (which a refused commit closes) reopens meanwhile. The process must stay up throughout.
 */
const LONG_REFUSED_MS = 12_000;

/**
 * The broker refuses offset commits for a while (COORDINATOR_NOT_AVAILABLE, as when it cannot write to
 * __consumer_offsets) while bookings are posted, then takes them again. kafkajs retries the failed batches without
 * rejoining the group; the channel groups must go on delivering afterwards, nothing lost and nothing doubled. The
 * gateway has a broker of its own here, behind a proxy that answers the commits in the broker's stead: the stack's
 * broker is shared with other tests, and a single-node broker cannot be made to fail commits by its settings.
 */
describe('fault: the Kafka broker refuses offset commits for a while', () => {
  let proxy: KafkaFaultProxy;
  let broker: OwnBroker;
  let gw: GatewayProcess;
  const run = randomBytes(2).toString('hex').toUpperCase();
  const person = { userId: `kc-${run.toLowerCase()}`, email: uniqueEmail('kc'), phone: uniquePhone() };
  const posted: string[] = [];
  const sms = () => gw.sandbox.store.list((m) => m.to === person.phone);

  /** Posts a phase's bookings for one traveller, `gapMs` apart, retrying what is refused as a partner would. */
  async function postBookings(phase: string, gapMs = 20): Promise<void> {
    for (let i = 0; i < BOOKINGS_PER_PHASE; i++) {
      const pnr = `KC${run}${phase}${String(i).padStart(3, '0')}`;
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
      await sleep(gapMs);
    }
  }
  /** Every SMS posted so far arrived, and none twice. */
  async function everySmsOnce(): Promise<void> {
    await waitFor(
      'every SMS posted so far',
      () => {
        const arrived = sms().length;
        if (arrived < posted.length) throw new Error(`${arrived} of ${posted.length} arrived`);
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    await sleep(2_000);
    const pnrs = sms().map((m) => m.body.match(/KC[0-9A-F]{4}[A-Z]\d{3}/)?.[0]);
    expect(pnrs.filter((p) => !p)).toEqual([]);
    expect(new Set(pnrs).size).toBe(pnrs.length);
    expect([...pnrs].sort()).toEqual([...posted].sort());
  }

  beforeAll(async () => {
    // The proxy is told where the broker will listen, and the broker tells clients to come through the proxy.
    const listenPort = await freePort();
    proxy = await startKafkaFaultProxy({ host: '127.0.0.1', port: listenPort });
    broker = await startOwnBroker({ listenPort, advertise: `127.0.0.1:${proxy.port}` });
    gw = await startGatewayProcess('commits', {
      KAFKA_BROKERS: `127.0.0.1:${proxy.port}`,
      // kafkajs shortens its retries under NODE_ENV=test (50 ms to 1 s apart instead of 300 ms to 30 s): a consumer
      // would give up within 3 s and be restarted, rejoining the group, where a gateway in service retries for a minute
      // without a rejoin. The gateway runs as on the local stack, with kafkajs timing its retries as in service.
      NODE_ENV: 'development',
    });
  }, 240_000);
  afterAll(async () => {
    proxy?.refuseCommits(false);
    await gw?.close();
    await broker?.stop();
    await proxy?.close();
  }, 120_000);

  /** Commits refused for `refusedMs` while a phase's bookings are posted, then a phase after: every SMS once. */
  async function refuseWhilePosting(during: string, after: string, refusedMs: number): Promise<void> {
    const before = proxy.refusedCommits;
    // Bookings posted throughout the refusal, so that records are handled, and their offsets committed, during it.
    proxy.refuseCommits(true);
    const posting = postBookings(during, refusedMs / BOOKINGS_PER_PHASE);
    // Awaited below; a failure before then must not surface as an unhandled rejection.
    posting.catch(() => {});
    try {
      await sleep(refusedMs);
    } finally {
      proxy.refuseCommits(false);
    }
    expect(proxy.refusedCommits - before, 'offset commits refused by the proxy').toBeGreaterThan(0);
    await posting;

    await postBookings(after);
    await everySmsOnce();
    expect(gw.gateway.exit, 'the gateway process exited').toBeUndefined();
    // A gateway that met an uncaught error is still running while it shuts down, but no longer ready.
    expect((await gw.readiness().catch(() => undefined))?.code, '/readyz after the refusals').toBe(200);
  }

  it('goes on delivering, each SMS once, after offset commits were refused for a while', async () => {
    onTestFailed(() => console.error(`${proxy.refusedCommits} commits refused\n${gw.gateway.output(60)}`));
    await postBookings('A');
    await everySmsOnce();
    await refuseWhilePosting('B', 'C', REFUSED_MS);
  }, 300_000);

  it('stays up and goes on delivering when commits are refused for longer than kafkajs retries', async () => {
    onTestFailed(() => console.error(`${proxy.refusedCommits} commits refused\n${gw.gateway.output(80)}`));
    await refuseWhilePosting('D', 'E', LONG_REFUSED_MS);
  }, 300_000);
});
