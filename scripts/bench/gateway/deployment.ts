/**
 * One gateway deployment of the bench's own: a fresh database, its own topic and queue prefix, free ports, email to
 * Postfix's smtp-sink (as to a production relay), and the roles as separate processes — sandbox, api (×N), bridge,
 * worker (×BENCH_WORKERS). Everything it creates is undone by close(), step by step, even after a failed start.
 */
import { randomBytes } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';
import pg from 'pg';
import { loadConfig, type Config } from '../../../src/config.js';
import { ensureDatabase, migrate } from '../../../src/db/migrate.js';
import { createLogger } from '../../../src/logger.js';
import type { Channel } from '../../../src/events/index.js';
import { createEventProducer, type EventProducer } from '../../../src/producer/event-producer.js';
import { createKafka } from '../../../src/kafka/client.js';
import { eventQueues } from '../../../src/queue/event-queues.js';
import { freePort } from '../../../src/util/free-port.js';
import { startSmtpSink } from '../raw/smtp-sink.js';
import { createTopics, deleteKafkaResources } from './kafka-resources.js';
import { createLagReader, type LagReader } from './lag.js';
import { forgetRun, recordRun, sweepDeadRuns } from './leftovers.js';
import { spawnRole, type RoleName, type RoleProcess } from './processes.js';
import { createProcSampler, stackTargets, type ProcSampler } from './proc-stats.js';
import { bridgeConsumers, deleteQueues, groupsStable, httpAnswers, memberIds, waitAlive } from './readiness.js';
import type { BenchSettings } from './settings.js';
import { every, errorText, sleep, type Progress, type Ticker } from './timing.js';

export const silentLogger = createLogger({ level: 'silent', name: 'bench' });
const READY_TIMEOUT_MS = 120_000;

export interface Deployment {
  runId: string;
  prefix: string;
  config: Config;
  /** The settings every role process got. */
  env: Record<string, string>;
  apiUrls: string[];
  /** Where email goes: Postfix's smtp-sink, or MailDev when smtp-sink cannot be had. */
  smtp: { url: string; kind: 'smtp-sink' | 'maildev' };
  pool: pg.Pool;
  kafka: Kafka;
  admin: Admin;
  producer: EventProducer;
  lag: LagReader;
  sampler: ProcSampler;
  processes: RoleProcess[];
  workers(): RoleProcess[];
  /** How many workers run now and the settings they have beyond `env`. */
  workerSpec(): WorkerSpec;
  /**
   * SIGKILLs the workers, runs `between` (a purge), starts new ones — as `next` says, or as before — and waits until
   * the groups hold them.
   */
  restartWorkers(progress: Progress, between: () => Promise<void>, next?: WorkerSpec): Promise<void>;
  /** Undoes everything; returns what failed (the run reports it and goes on). */
  close(): Promise<string[]>;
}

/** The worker processes: how many, and settings of their own (the rate part's send rates and senders). */
export interface WorkerSpec {
  count: number;
  env: Record<string, string>;
  /** The channels they deliver (WORKER_CHANNELS), as a deployment chooses them; all four when absent. */
  channels?: readonly Channel[];
}

type Cleanup = [what: string, run: () => Promise<unknown>];

export async function startDeployment(
  settings: BenchSettings,
  progress: Progress,
  workers: WorkerSpec = { count: settings.workers, env: {} },
): Promise<Deployment> {
  const hex = randomBytes(3).toString('hex');
  const cleanups: Cleanup[] = [];
  const close = async () => {
    const errors: string[] = [];
    for (const [what, run] of cleanups.reverse())
      await run().catch((error: unknown) => errors.push(`${what}: ${errorText(error)}`));
    cleanups.length = 0;
    // Kept when something could not be removed: the next run tries again.
    if (errors.length === 0) forgetRun(hex);
    return errors;
  };
  try {
    return await start(hex, settings, workers, progress, cleanups, close);
  } catch (error) {
    const errors = await close();
    if (errors.length) progress(`gateway: cleanup after the failed start: ${errors.join('; ')}`);
    throw error;
  }
}

async function start(
  hex: string,
  settings: BenchSettings,
  initialWorkers: WorkerSpec,
  progress: Progress,
  cleanups: Cleanup[],
  close: () => Promise<string[]>,
): Promise<Deployment> {
  const runId = hex.toUpperCase();
  const prefix = `bench.${hex}.`;
  const base = loadConfig(process.env);
  const database = `gateway_bench_${hex}`;
  const databaseUrl = Object.assign(new URL(base.DATABASE_URL), { pathname: `/${database}` }).toString();

  const kafka = createKafka({ brokers: base.KAFKA_BROKERS, clientId: `bench-${hex}`, logger: silentLogger });
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(['disconnect kafka admin', () => admin.disconnect()]);
  const drop = (name: string) => dropDatabase(base.DATABASE_URL, name);
  await sweepDeadRuns({ admin, amqpUrl: base.AMQP_URL, drop, progress });
  const record = {
    pid: process.pid,
    prefix,
    database,
    children: [] as number[],
    smtpSink: undefined as string | undefined,
  };
  recordRun(hex, record);

  await ensureDatabase(databaseUrl);
  cleanups.push(['drop database', () => drop(database)]);
  await migrate({ databaseUrl, logger: silentLogger });

  const sink = await startSmtpSink({ progress });
  if (sink) cleanups.push(['stop smtp-sink', () => sink.stop()]);
  else progress('gateway: smtp-sink unavailable, email goes to MailDev (slower than a relay)');
  const smtp = sink
    ? { url: sink.url, kind: 'smtp-sink' as const }
    : { url: 'smtp://127.0.0.1:1025', kind: 'maildev' as const };
  if (sink) recordRun(hex, Object.assign(record, { smtpSink: `${sink.host}:${sink.port}` }));

  const [sandboxPort, ...apiPorts] = await Promise.all(
    Array.from({ length: 1 + settings.apiProcesses }, () => freePort()),
  );
  const apiUrls = apiPorts.map((port) => `http://127.0.0.1:${port}`);
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    KAFKA_TOPIC_PREFIX: prefix,
    AMQP_QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'error',
    SANDBOX_PORT: String(sandboxPort),
    TWILIO_API_BASE_URL: `http://127.0.0.1:${sandboxPort}`,
    // Twilio's status callbacks go to the first api, as they would go to the one public address of a deployment.
    PUBLIC_URL: apiUrls[0]!,
    SMTP_URL: smtp.url,
    SMTP_LOOKUP_URL: 'none',
    METRICS_PORT: '0',
    // Every traveller's socket comes from this machine's one address: thousands of handshakes within the window.
    RATE_LIMIT_SOCKETS: '1000000',
  };
  const config = loadConfig({ ...process.env, ...env });

  // Retried: a broker restarting (another user of the stack) must not leave the bench's topics behind.
  cleanups.push(['delete topics and groups', () => retry(() => deleteKafkaResources(admin, prefix), 3, 5_000)]);
  cleanups.push([
    'delete queues',
    () => {
      const q = eventQueues(prefix);
      return deleteQueues(config.AMQP_URL, [q.events, q.deadLetters]);
    },
  ]);
  await createTopics(kafka, prefix, {
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    retryLevels: config.RETRY_DELAYS_MS.length,
    fanOutParts: config.FAN_OUT_PARTS,
  });

  const processes: RoleProcess[] = [];
  cleanups.push(['stop role processes', () => Promise.all(processes.map((p) => p.stop()))]);
  const spawn = (name: string, role: RoleName, extra: Record<string, string> = {}) => {
    const child = spawnRole(name, role, { ...env, ...extra });
    processes.push(child);
    record.children.push(child.pid);
    recordRun(hex, record);
    return child;
  };
  const lag = createLagReader(admin, prefix);
  const channelGroups = lag.groups.filter((g) => g.name !== 'projection');
  let workerSpec = initialWorkers;
  // Only the groups of the channels the workers deliver get members; the others stay empty.
  const workersReady = (gone?: Set<string>) =>
    groupsStable(
      admin,
      channelGroups.filter((g) => !workerSpec.channels || (workerSpec.channels as readonly string[]).includes(g.name)),
      workerSpec.count,
      gone,
    );
  const spawnWorkers = () => {
    const channels = workerSpec.channels && { WORKER_CHANNELS: workerSpec.channels.join(',') };
    for (let i = 1; i <= workerSpec.count; i += 1) spawn(`worker-${i}`, 'worker', { ...workerSpec.env, ...channels });
  };

  progress(
    `gateway: starting sandbox, ${workerSpec.count} worker(s), bridge, ${settings.apiProcesses} api process(es) (prefix ${prefix}, email to ${smtp.kind})`,
  );
  const started = performance.now();
  const sandbox = spawn('sandbox', 'sandbox');
  // The workers send to the sandbox from their first record, so it answers before they start.
  await waitAlive(
    'the sandbox answering',
    [sandbox],
    () => httpAnswers(`${env.TWILIO_API_BASE_URL}/`),
    READY_TIMEOUT_MS,
  );
  spawnWorkers();
  spawn('bridge', 'bridge');
  apiPorts.forEach((port, i) => spawn(`api-${i + 1}`, 'api', { PORT: String(port) }));
  await waitAlive(
    'every api ready',
    processes,
    async () => (await Promise.all(apiUrls.map((u) => httpAnswers(`${u}/readyz`, (s) => s === 200)))).every(Boolean),
    READY_TIMEOUT_MS,
  );
  await waitAlive(
    'the bridge consuming',
    processes,
    async () => (await bridgeConsumers(config.AMQP_URL, eventQueues(prefix).events)) > 0,
    READY_TIMEOUT_MS,
  );
  await waitAlive(
    `the channel groups holding ${workerSpec.count} worker(s)`,
    processes,
    () => workersReady(),
    READY_TIMEOUT_MS,
  );
  progress(`gateway: ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  cleanups.push(['close bench pool', () => pool.end()]);
  const producer = createEventProducer({
    brokers: config.KAFKA_BROKERS,
    clientId: `bench-${hex}-producer`,
    logger: silentLogger,
    topicPrefix: prefix,
  });
  cleanups.push(['stop producer', () => producer.stop()]);

  const sampler = createProcSampler(() => [
    { name: 'bench', role: 'bench', pids: () => [process.pid] },
    ...processes.filter((p) => !p.exit).map((p) => ({ name: p.name, role: p.role, pids: () => [p.pid] })),
    ...stackTargets(database),
  ]);
  const sampling: Ticker = every(1_000, () => sampler.sample());
  cleanups.push(['stop sampling', () => sampling.stop()]);

  return {
    runId,
    prefix,
    config,
    env,
    apiUrls,
    smtp,
    pool,
    kafka,
    admin,
    producer,
    lag,
    sampler,
    processes,
    workers: () => processes.filter((p) => p.role === 'worker' && !p.exit),
    workerSpec: () => workerSpec,
    async restartWorkers(say, between, next) {
      const old = processes.filter((p) => p.role === 'worker');
      const gone = await memberIds(admin, channelGroups);
      // SIGKILL: a SIGTERMed worker would first finish the batch it holds, which against a backlog takes minutes.
      await Promise.all(old.map((p) => p.kill()));
      for (const p of old) processes.splice(processes.indexOf(p), 1);
      await between();
      if (next) workerSpec = next;
      spawnWorkers();
      const since = performance.now();
      // The killed members leave only when their 6 s sessions end; the groups are Stable again after that.
      await waitAlive(
        'the channel groups holding the new workers',
        processes,
        () => workersReady(gone),
        READY_TIMEOUT_MS,
      );
      say(`gateway: workers restarted, groups stable after ${((performance.now() - since) / 1000).toFixed(1)} s`);
    },
    close,
  };
}

async function retry<T>(run: () => Promise<T>, attempts: number, pauseMs: number): Promise<T> {
  for (let i = 1; ; i += 1) {
    try {
      return await run();
    } catch (error) {
      if (i >= attempts) throw error;
      await sleep(pauseMs);
    }
  }
}

async function dropDatabase(baseUrl: string, name: string): Promise<void> {
  const client = new pg.Client({
    connectionString: Object.assign(new URL(baseUrl), { pathname: '/postgres' }).toString(),
  });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
