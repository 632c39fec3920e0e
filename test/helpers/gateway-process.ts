import type { Admin } from 'kafkajs';
import { createKafka } from '../../src/kafka/client.js';
import { ITINERARY_PROJECTION_GROUP, workerTopics } from '../../src/kafka/names.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import { createPool } from '../../src/db/pool.js';
import { eventQueues } from '../../src/queue/event-queues.js';
import { CHANNELS, channelGroups } from './consumer-groups.js';
import { prepareGatewayEnv } from './gateway-env.js';
import { deleteQueues } from './gateway.js';
import { testLogger } from './kafka.js';
import { waitFor } from './wait-for.js';
import { spawnWorker } from './worker-process.js';

export interface Readiness {
  status: string;
  checks: Record<string, boolean>;
}

/**
 * The gateway as `npm start` runs it (worker, bridge and api in one process of its own, so a fault that would stop it
 * is seen as its exit), on the test's own database, topics and queues; the Twilio sandbox in this process, where the
 * test reads what it received. MailDev and Redis are shared.
 */
export async function startGatewayProcess(label: string, env: Record<string, string> = {}) {
  const prepared = await prepareGatewayEnv(label, env);
  const { prefix, database, sandbox, apiPort } = prepared;
  const processEnv = { ...prepared.env, PORT: String(apiPort) };
  const config = prepared.config;
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `test-${label}`, logger: testLogger });
  await ensureTopics(kafka, {
    prefix,
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    extra: workerTopics(CHANNELS, {
      prefix,
      retryLevels: config.RETRY_DELAYS_MS.length,
      fanOutParts: config.FAN_OUT_PARTS,
    }),
  });
  const admin: Admin = kafka.admin();
  await admin.connect();
  const gateway = spawnWorker(label, processEnv, 'worker,bridge,api');
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const pool = createPool(database.url, testLogger, 2);

  const readiness = async (): Promise<{ code: number; body: Readiness }> => {
    const response = await fetch(`${apiUrl}/readyz`, { signal: AbortSignal.timeout(5_000) });
    return { code: response.status, body: (await response.json()) as Readiness };
  };
  await waitFor(
    'the gateway to be ready',
    async () => {
      if (gateway.exit) throw new Error(`the gateway exited:\n${gateway.output(40)}`);
      return (await readiness().catch(() => undefined))?.code === 200;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );

  return {
    prefix,
    config,
    apiUrl,
    sandbox,
    pool,
    gateway,
    readiness,
    /** POST /events with the partner key, as a partner would. */
    post: (event: unknown) =>
      fetch(`${apiUrl}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': config.INGEST_API_KEYS[0]! },
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(10_000),
      }),
    async close() {
      await gateway.stop();
      const groups = channelGroups(prefix, config.RETRY_DELAYS_MS.length).map((g) => g.groupId);
      await admin.deleteGroups([...groups, `${prefix}${ITINERARY_PROJECTION_GROUP}`]).catch(() => undefined);
      await admin
        .deleteTopics({ topics: (await admin.listTopics()).filter((t) => t.startsWith(prefix)) })
        .catch(() => undefined);
      await admin.disconnect();
      await sandbox.app.close();
      await pool.end();
      await deleteQueues(config.AMQP_URL, eventQueues(prefix)).catch(() => undefined);
      await database.drop();
    },
  };
}

export type GatewayProcess = Awaited<ReturnType<typeof startGatewayProcess>>;
