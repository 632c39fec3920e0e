import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { portOpen, runningPid, startDaemon, stopDaemon, tail, waitUntil, type Daemon } from './daemon.js';
import { KAFKA_DIR, ROOT } from './paths.js';

const KAFKA_VERSION = '3.9.1';
const LIBS = path.join(KAFKA_DIR, 'libs');
const DATA = path.join(KAFKA_DIR, 'data');
const CONFIG = path.join(KAFKA_DIR, 'server.properties');
const LOG4J = path.join(KAFKA_DIR, 'log4j.properties');
const CLUSTER_ID = path.join(KAFKA_DIR, 'cluster-id');
export const kafkaDaemon: Daemon = {
  name: 'kafka',
  pidFile: path.join(KAFKA_DIR, 'kafka.pid'),
  logFile: path.join(KAFKA_DIR, 'kafka.log'),
};

function hostPort(broker: string): { host: string; port: number } {
  const [host = '127.0.0.1', port = '9092'] = broker.split(':');
  return { host, port: Number(port) };
}

/** The broker's jars come from Maven Central once; Maven's own cache makes later fetches offline. */
function ensureJars(log: (line: string) => void): void {
  if (existsSync(path.join(LIBS, `kafka_2.13-${KAFKA_VERSION}.jar`))) return;
  log(`fetching Apache Kafka ${KAFKA_VERSION} from Maven Central into ${path.relative(ROOT, LIBS)} …`);
  execFileSync(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      path.join(ROOT, 'scripts/stack/kafka-pom.xml'),
      'dependency:copy-dependencies',
      `-DoutputDirectory=${LIBS}`,
      '-DincludeScope=runtime',
    ],
    { stdio: 'inherit' },
  );
}

function writeConfig(broker: string): void {
  const { host, port } = hostPort(broker);
  const properties = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@${host}:${port + 1}`,
    listeners: `PLAINTEXT://${host}:${port},CONTROLLER://${host}:${port + 1}`,
    'advertised.listeners': `PLAINTEXT://${host}:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': DATA,
    'num.partitions': '3',
    'default.replication.factor': '1',
    'offsets.topic.replication.factor': '1',
    // Fewer offset partitions than the default 50: a single dev broker creates them on the first group join.
    'offsets.topic.num.partitions': '12',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    // Consumer groups in tests join one after another; waiting for more members only slows them.
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'true',
  };
  writeFileSync(
    CONFIG,
    Object.entries(properties)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );
  writeFileSync(
    LOG4J,
    [
      'log4j.rootLogger=WARN, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka.server.KafkaServer=INFO',
      'log4j.logger.kafka.server.BrokerServer=INFO',
    ].join('\n') + '\n',
  );
}

/** Kafka's cluster ids are 16 random bytes in URL-safe base64; one is kept so the data folder stays valid. */
function clusterId(): string {
  if (!existsSync(CLUSTER_ID)) writeFileSync(CLUSTER_ID, randomBytes(16).toString('base64url'));
  return readFileSync(CLUSTER_ID, 'utf8').trim();
}

function java(main: string, args: string[], jvm: string[] = []): [string, string[]] {
  return ['java', [...jvm, `-Dlog4j.configuration=file:${LOG4J}`, '-cp', `${LIBS}/*`, main, ...args]];
}

/** True once the broker answers a metadata request and has a group coordinator, which is when clients can use it. */
export async function kafkaAnswers(broker: string): Promise<boolean> {
  const admin = new Kafka({
    brokers: [broker],
    clientId: 'stack-probe',
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0 || cluster.controller === null) return false;
    // A fresh broker creates its offsets topic at the first group's request and answers "coordinator not available"
    // until it has: the gateway's consumers would meet that (and log it) at their start, so the stack waits here.
    await admin.describeGroups(['stack-probe']);
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

export async function startKafka(broker: string, log: (line: string) => void): Promise<void> {
  const { host, port } = hostPort(broker);
  if (runningPid(kafkaDaemon) === undefined && (await portOpen(host, port))) {
    log(`kafka: a broker not started by this stack is listening on ${broker}; leaving it alone`);
  } else if (runningPid(kafkaDaemon) === undefined) {
    mkdirSync(KAFKA_DIR, { recursive: true });
    ensureJars(log);
    writeConfig(broker);
    const [cmd, format] = java('kafka.tools.StorageTool', [
      'format',
      '-t',
      clusterId(),
      '-c',
      CONFIG,
      '--ignore-formatted',
    ]);
    execFileSync(cmd, format, { stdio: 'ignore' });
    const [javaCmd, args] = java('kafka.Kafka', [CONFIG], ['-Xmx512m', '-Xms512m', '-XX:+UseG1GC']);
    const pid = startDaemon(kafkaDaemon, javaCmd, args, KAFKA_DIR);
    log(`kafka: started (pid ${pid}), log in ${path.relative(ROOT, kafkaDaemon.logFile)}`);
  }
  await waitUntil('kafka', () => kafkaAnswers(broker), {
    timeoutMs: 90_000,
    alive: () => runningPid(kafkaDaemon) !== undefined || !existsSync(kafkaDaemon.pidFile),
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n${tail(kafkaDaemon.logFile)}`);
  });
}

export async function stopKafka(): Promise<boolean> {
  return stopDaemon(kafkaDaemon);
}
