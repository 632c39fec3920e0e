import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../src/kafka/client.js';
import { freePort } from '../src/util/free-port.js';
import { connectAlertClient, type AlertClient } from './helpers/alert-client.js';
import {
  channelGroups,
  describeGroups,
  describeView,
  partitionsOf,
  settled,
  type GroupView,
} from './helpers/consumer-groups.js';
import { bookingConfirmed } from './fixtures/events.js';
import { freshDatabase, uniqueEmail, uniquePhone } from './helpers/full-gateway.js';
import { INGEST_HEADERS } from './helpers/gateway.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';
import { unchangedFor, waitFor } from './helpers/wait-for.js';

/** `outcome="done"` websocket deliveries a worker counted, from its own /metrics. */
const websocketDone = async (metricsUrl: string) => {
  const text = await (await fetch(metricsUrl)).text();
  return Number(/^gateway_delivery_outcomes_total\{channel="websocket",outcome="done"\} (\d+)$/m.exec(text)?.[1] ?? 0);
};

/** `npm run cluster` as a user runs it: the sandbox, two api nodes and two workers, each a process of its own. */
describe('scale-out: two api nodes and two workers (npm run cluster)', () => {
  const prefix = uniquePrefix('cluster');
  const config = testConfig(prefix);
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let cluster: ChildProcess;
  const output: string[] = [];
  let apis: string[];
  let workerMetrics: string[];
  let admin: Admin;
  const clients: AlertClient[] = [];

  beforeAll(async () => {
    database = await freshDatabase(config.DATABASE_URL);
    const [a, b, m1, m2, sandbox] = await Promise.all(Array.from({ length: 5 }, () => freePort()));
    apis = [`http://127.0.0.1:${a}`, `http://127.0.0.1:${b}`];
    workerMetrics = [m1, m2].map((port) => `http://127.0.0.1:${port}/metrics`);
    cluster = spawn(process.execPath, ['--import', 'tsx', 'scripts/cluster.ts'], {
      env: {
        ...process.env,
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
        KAFKA_TOPIC_PREFIX: prefix,
        AMQP_QUEUE_PREFIX: prefix,
        DATABASE_URL: database.url,
        SANDBOX_PORT: String(sandbox),
        TWILIO_API_BASE_URL: `http://127.0.0.1:${sandbox}`,
        CLUSTER_API_PORTS: `${a},${b}`,
        CLUSTER_METRICS_PORTS: `${m1},${m2}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [cluster.stdout!, cluster.stderr!])
      stream.on('data', (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    const ready = async (url: string) => (await fetch(url).catch(() => undefined))?.status === 200;
    await waitFor(
      'both api nodes and both workers ready',
      async () => {
        if (cluster.exitCode !== null) throw new Error(`the cluster exited:\n${output.slice(-30).join('\n')}`);
        const urls = [...apis.map((u) => `${u}/readyz`), ...workerMetrics.map((u) => u.replace('/metrics', '/readyz'))];
        return (await Promise.all(urls.map(ready))).every(Boolean);
      },
      { timeoutMs: 150_000, intervalMs: 1_000 },
    );
    admin = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'test-cluster', logger: testLogger }).admin();
    await admin.connect();
  }, 180_000);

  afterAll(async () => {
    for (const client of clients) client.socket.disconnect();
    if (cluster && cluster.exitCode === null) {
      const exited = once(cluster, 'exit');
      cluster.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
      if (cluster.exitCode === null) cluster.kill('SIGKILL');
    }
    const topics = (await admin?.listTopics())?.filter((t) => t.startsWith(prefix)) ?? [];
    if (topics.length) await admin.deleteTopics({ topics }).catch(() => {});
    await admin?.disconnect();
    await database?.drop();
  }, 60_000);

  it('spreads every channel group over both workers', async () => {
    const groups = channelGroups(prefix, config.RETRY_DELAYS_MS.length);
    let views: GroupView[] = [];
    await waitFor(
      'each group stable with both workers holding its partitions',
      async () => {
        views = await describeGroups(admin, groups);
        return views.every((v) => settled(v, { members: 2, partitionsOf: partitionsOf(config) }));
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}: ${views.map(describeView).join('; ')}`);
    });
    for (const view of views)
      for (const member of view.members)
        expect(Object.values(member.partitions).flat().length, describeView(view)).toBeGreaterThan(0);
  });

  it("delivers a live alert from a worker to the person's sockets on both api nodes, and to no one else", async () => {
    const [nodeA, nodeB] = apis as [string, string];
    const person = { userId: `cluster-${randomBytes(3).toString('hex')}`, email: uniqueEmail('cluster') };
    const onB = await connectAlertClient(nodeB, config.JWT_SECRET, person.userId);
    const onA = await connectAlertClient(nodeA, config.JWT_SECRET, person.userId);
    const stranger = await connectAlertClient(nodeA, config.JWT_SECRET, `${person.userId}-other`);
    clients.push(onA, onB, stranger);
    const before = await Promise.all(workerMetrics.map(websocketDone));

    const pnrNumber = `CL${randomBytes(3).toString('hex').toUpperCase()}`;
    const booking = bookingConfirmed({
      eventId: undefined,
      pnrNumber,
      userId: person.userId,
      userEmail: person.email,
      userPhone: uniquePhone(),
    });
    // The event enters at node A; its live alert reaches the socket held by node B through Redis.
    const accepted = await fetch(`${nodeA}/events`, {
      method: 'POST',
      headers: INGEST_HEADERS,
      body: JSON.stringify(booking),
    });
    expect(accepted.status).toBe(202);

    await waitFor('the alert on node B', () => onB.distinct().length > 0, { timeoutMs: 60_000 });
    await waitFor('the alert on node A', () => onA.distinct().length > 0, { timeoutMs: 10_000 });
    await unchangedFor('no further alert', () => onA.received.length + onB.received.length, 1_500);
    expect(onB.distinct().map((a) => a.pnrNumber)).toEqual([pnrNumber]);
    expect(onA.distinct().map((a) => a.pnrNumber)).toEqual([pnrNumber]);
    expect(stranger.received).toEqual([]);

    // One worker process made that delivery, once.
    const after = await Promise.all(workerMetrics.map(websocketDone));
    expect(after.map((n, i) => n - before[i]!).sort()).toEqual([0, 1]);
  });
});
