import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { ITINERARY_PROJECTION_GROUP, workerTopics } from '../../src/kafka/names.js';
import { createPool } from '../../src/db/pool.js';
import { createEventProducer, type EventProducer } from '../../src/producer/event-producer.js';
import { createKafka } from '../../src/kafka/client.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import { eventQueues } from '../../src/queue/event-queues.js';
import { composeApi } from '../../src/roles/api.role.js';
import { freePort } from '../../src/util/free-port.js';
import { connectAlertClient, type AlertClient } from './alert-client.js';
import {
  CHANNELS,
  channelGroups,
  describeGroups,
  describeView,
  partitionsOf,
  settled,
  type GroupView,
} from './consumer-groups.js';
import { prepareGatewayEnv } from './gateway-env.js';
import { deleteQueues } from './gateway.js';
import { testLogger } from './kafka.js';
import { spawnWorker, type WorkerProcess } from './worker-process.js';

/**
 * The gateway split as in production, for fault tests: worker processes that can be killed, and in this process the
 * api (for Socket.IO clients and Twilio status callbacks), the Twilio sandbox, a database, topics and queues of the
 * test's own. MailDev and Redis are shared; tests use addresses and user ids of their own.
 */
export async function startWorkerFleet(
  label: string,
  { workers: workerCount = 2, env: extraEnv = {} }: { workers?: number; env?: Record<string, string> } = {},
) {
  const { prefix, database, apiPort, sandbox, env, config } = await prepareGatewayEnv(label, extraEnv);

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `test-${label}`, logger: testLogger });
  // Created here, before any worker, as a deployment would: the workers then find them all in place.
  await ensureTopics(kafka, {
    prefix,
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    extra: workerTopics(CHANNELS, {
      prefix,
      retryLevels: config.RETRY_DELAYS_MS.length,
      fanOutParts: config.FAN_OUT_PARTS,
    }),
  });
  const groups = channelGroups(prefix, config.RETRY_DELAYS_MS.length);
  const admin: Admin = kafka.admin();
  await admin.connect();

  const api = await composeApi(config, testLogger, { name: `test-${label}` });
  const apiUrl = await api.app.listen({ host: '127.0.0.1', port: apiPort });
  const pool = createPool(database.url, testLogger);
  const producer: EventProducer = createEventProducer({
    brokers: config.KAFKA_BROKERS,
    logger: testLogger,
    topicPrefix: prefix,
  });
  // Each worker serves its own /metrics: what it delivered is counted in its process.
  const metricsPorts = await Promise.all(Array.from({ length: workerCount }, () => freePort()));
  const workers: WorkerProcess[] = metricsPorts.map((port, i) =>
    spawnWorker(`worker-${i + 1}`, { ...env, METRICS_PORT: String(port) }),
  );
  const clients: AlertClient[] = [];

  const fleet = {
    prefix,
    config,
    /** What each worker process is started with, for a test that starts another process of its own. */
    env,
    apiUrl,
    sandbox,
    producer,
    pool,
    admin,
    workers,
    metricsUrlOf: (worker: WorkerProcess) => `http://127.0.0.1:${metricsPorts[workers.indexOf(worker)]}/metrics`,

    /** Every channel group the workers run: each channel's contract group and its retry group. */
    groups: () => describeGroups(admin, groups),

    /**
     * Polls the channel groups until each is Stable with `members` members holding all its partitions; throws at
     * once if a worker that should be running has exited. Returns when each group got there (ms since `since`).
     */
    async waitForGroups(
      members: number,
      {
        timeoutMs,
        since = performance.now(),
        alive = workers,
      }: { timeoutMs: number; since?: number; alive?: WorkerProcess[] },
    ) {
      const reachedAt = new Map<string, number>();
      let last: GroupView[] = [];
      while (performance.now() - since < timeoutMs) {
        const dead = alive.find((w) => w.exit);
        if (dead) throw new Error(`${dead.name} exited (${JSON.stringify(dead.exit)}):\n${dead.output(40)}`);
        last = await fleet.groups().catch(() => last);
        for (const view of last) {
          if (settled(view, { members, partitionsOf: partitionsOf(config) })) {
            if (!reachedAt.has(view.name)) reachedAt.set(view.name, performance.now() - since);
          } else reachedAt.delete(view.name);
        }
        if (reachedAt.size === groups.length) return Object.fromEntries(reachedAt) as Record<string, number>;
        await sleep(100);
      }
      throw new Error(
        `channel groups not settled with ${members} member(s) after ${timeoutMs} ms: ${last.map(describeView).join('; ')}`,
      );
    },

    async connectAs(userId: string): Promise<AlertClient> {
      const client = await connectAlertClient(apiUrl, config.JWT_SECRET, userId);
      clients.push(client);
      return client;
    },

    /** Every step runs even when one before it failed: the database and queues never outlive the test. */
    async close() {
      const errors: unknown[] = [];
      const step = async (run: () => unknown) => {
        try {
          await run();
        } catch (error) {
          errors.push(error);
        }
      };
      await step(() => Promise.all(workers.map((w) => w.stop())));
      for (const client of clients) client.socket.disconnect();
      await step(() => producer.stop());
      await step(async () => {
        await admin
          .deleteGroups([...groups.map((g) => g.groupId), `${prefix}${ITINERARY_PROJECTION_GROUP}`])
          .catch(() => undefined);
        await admin.deleteTopics({ topics: (await admin.listTopics()).filter((t) => t.startsWith(prefix)) });
      });
      await step(() => admin.disconnect());
      await step(() => api.close());
      await step(() => sandbox.app.close());
      await step(() => pool.end());
      await step(() => deleteQueues(config.AMQP_URL, eventQueues(prefix)));
      await step(() => database.drop());
      if (errors.length) throw new AggregateError(errors, `closing the worker fleet: ${errors.length} step(s) failed`);
    },
  };
  return fleet;
}

export type WorkerFleet = Awaited<ReturnType<typeof startWorkerFleet>>;
