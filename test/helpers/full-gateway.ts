import { randomBytes } from 'node:crypto';
import { fieldCipherOf } from '../../src/util/field-cipher.js';
import { Redis } from 'ioredis';
import pg from 'pg';
import { io as connectSocket, type Socket } from 'socket.io-client';
import type { Config } from '../../src/config.js';
import { createWorker } from '../../src/roles/worker.composition.js';
import { createItinerariesRepository } from '../../src/store/itineraries.repository.js';
import { createDeliveriesRepository } from '../../src/store/deliveries.repository.js';
import { ensureDatabase, migrate } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { signUserToken } from '../../src/http/jwt.js';
import { createPreferencesRepository } from '../../src/store/preferences.repository.js';
import { createEventProducer, type EventProducer } from '../../src/producer/event-producer.js';
import { createMetrics } from '../../src/metrics.js';
import { eventQueues } from '../../src/queue/event-queues.js';
import { composeApi } from '../../src/roles/api.role.js';
import { startBridge } from '../../src/roles/bridge.role.js';
import { buildSandboxApp, type SandboxHandle } from '../../src/sandbox/sandbox.app.js';
import { testConfig, testLogger, uniquePrefix } from './kafka.js';
import { deleteQueues } from './gateway.js';
import { waitFor } from './wait-for.js';
import { freePort } from '../../src/util/free-port.js';

/** A database of the test's own: recipient lookups see only the travellers the test created. */
export async function freshDatabase(base: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `gateway_test_${randomBytes(4).toString('hex')}`;
  const url = Object.assign(new URL(base), { pathname: `/${name}` }).toString();
  await ensureDatabase(url);
  await migrate({ databaseUrl: url, logger: testLogger });
  return {
    url,
    drop: async () => {
      const admin = new pg.Client({
        connectionString: Object.assign(new URL(base), { pathname: '/postgres' }).toString(),
      });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/**
 * The whole gateway in this process (api, bridge and worker), on the test's own topics, queues, database and Twilio
 * sandbox; MailDev and Redis are shared (tests use addresses and ids of their own).
 */
export interface GatewayOptions {
  /** Settings for this gateway on top of the test defaults, e.g. short RETRY_DELAYS_MS. */
  env?: Record<string, string>;
  /** Templates from another folder (a broken one, to provoke template errors). */
  templatesDir?: string;
}

export async function startGateway(label: string, options: GatewayOptions = {}) {
  const prefix = uniquePrefix(label);
  const base = testConfig(prefix);
  const database = await freshDatabase(base.DATABASE_URL);

  // The api's address is fixed before it starts: Twilio's webhooks are signed against it.
  const apiPort = await freePort();
  const publicUrl = `http://127.0.0.1:${apiPort}`;
  const sandbox: SandboxHandle = await buildSandboxApp({
    accountSid: base.TWILIO_ACCOUNT_SID,
    authToken: base.TWILIO_AUTH_TOKEN,
    logger: testLogger,
    inboundWebhookUrl: `${publicUrl}/webhooks/twilio/inbound`,
    inboundTo: base.TWILIO_SMS_FROM,
  });
  const sandboxUrl = await sandbox.app.listen({ host: '127.0.0.1', port: 0 });
  const config: Config = testConfig(prefix, {
    DATABASE_URL: database.url,
    TWILIO_API_BASE_URL: sandboxUrl,
    PUBLIC_URL: publicUrl,
    ...options.env,
  });

  // One process, one set of metrics: the api's /metrics shows what this process's worker delivered, as in `npm start`.
  const metrics = createMetrics();
  const api = await composeApi(config, testLogger, { name: `test-${label}`, metrics });
  const apiUrl = await api.app.listen({ host: '127.0.0.1', port: apiPort });
  // Events POSTed to the api wait in RabbitMQ until a bridge moves them to Kafka, as in `npm start`.
  const bridge = await startBridge(config, testLogger);

  const worker = await createWorker({
    config,
    logger: testLogger,
    metrics,
    ...(options.templatesDir && { templatesDir: options.templatesDir }),
  });
  await worker.start();
  const producer: EventProducer = createEventProducer({
    brokers: config.KAFKA_BROKERS,
    logger: testLogger,
    topicPrefix: prefix,
  });
  const pool = createPool(config.DATABASE_URL, testLogger);
  const redis = new Redis(config.REDIS_URL);
  const sockets: Socket[] = [];

  return {
    config,
    apiUrl,
    sandbox,
    producer,
    pool,
    worker,
    preferences: createPreferencesRepository({ pool, redis, cipher: fieldCipherOf(config) }),
    itineraries: createItinerariesRepository(pool, fieldCipherOf(config)),
    deliveries: createDeliveriesRepository(pool, { cipher: fieldCipherOf(config) }),

    /** A socket.io client logged in as the user, collecting the alerts it receives. */
    async connectAs(userId: string): Promise<{ socket: Socket; alerts: Array<Record<string, unknown>> }> {
      const token = await signUserToken(config.JWT_SECRET, userId);
      const socket = connectSocket(apiUrl, { auth: { token }, transports: ['websocket'], reconnection: false });
      const alerts: Array<Record<string, unknown>> = [];
      socket.on('alert', (alert: Record<string, unknown>) => alerts.push(alert));
      sockets.push(socket);
      await waitFor(`socket for ${userId} to connect`, () => socket.connected);
      return { socket, alerts };
    },

    async close() {
      for (const socket of sockets) socket.disconnect();
      await producer.stop();
      await worker.stop();
      await bridge.stop();
      await api.close();
      await sandbox.app.close();
      redis.disconnect();
      await pool.end();
      await deleteQueues(config.AMQP_URL, eventQueues(prefix));
      await database.drop();
    },
  };
}

export type Gateway = Awaited<ReturnType<typeof startGateway>>;

/** A valid Indian mobile number of its own for each test traveller. */
export const uniquePhone = () => `+9198${String(randomBytes(4).readUInt32BE() % 100_000_000).padStart(8, '0')}`;
export const uniqueEmail = (name: string) => `${name}.${randomBytes(4).toString('hex')}@example.com`;
