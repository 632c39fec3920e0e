import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { portOpen, runningPid, startDaemon, stopDaemon, tail, waitUntil, type Daemon } from './daemon.js';
import { KAFKA_DIR, ROOT } from './paths.js';

const KAFKA_VERSION = '3.9.1';
/** One set of jars for every broker: the stack's, and any a test starts of its own. */
const LIBS = path.join(KAFKA_DIR, 'libs');

/**
 * One single-node KRaft broker: the folder of its configuration, data, log and pid file, and its addresses. The stack
 * runs one in .stack/kafka; a fault test may run another of its own elsewhere, in front of which it puts a proxy.
 */
export interface KafkaNode {
  dir: string;
  /** host:port of the client listener. */
  listen: string;
  /** host:port clients are told to connect to, in metadata and for the group coordinator; `listen` by default. */
  advertise?: string;
  /** The controller's port; the one after the client listener's by default. */
  controllerPort?: number;
}

/** Where a broker keeps what it is given and what it writes, under its folder. */
function filesIn(dir: string) {
  const daemon: Daemon = { name: 'kafka', pidFile: path.join(dir, 'kafka.pid'), logFile: path.join(dir, 'kafka.log') };
  return {
    data: path.join(dir, 'data'),
    config: path.join(dir, 'server.properties'),
    log4j: path.join(dir, 'log4j.properties'),
    clusterId: path.join(dir, 'cluster-id'),
    daemon,
  };
}
export const kafkaDaemon: Daemon = filesIn(KAFKA_DIR).daemon;

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

function writeConfig(node: KafkaNode): void {
  const { host, port } = hostPort(node.listen);
  const controllerPort = node.controllerPort ?? port + 1;
  const files = filesIn(node.dir);
  const properties = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@${host}:${controllerPort}`,
    listeners: `PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${node.advertise ?? node.listen}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': files.data,
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
    files.config,
    Object.entries(properties)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );
  writeFileSync(
    files.log4j,
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
function clusterId(dir: string): string {
  const file = filesIn(dir).clusterId;
  if (!existsSync(file)) writeFileSync(file, randomBytes(16).toString('base64url'));
  return readFileSync(file, 'utf8').trim();
}

function java(dir: string, main: string, args: string[], jvm: string[] = []): [string, string[]] {
  return ['java', [...jvm, `-Dlog4j.configuration=file:${filesIn(dir).log4j}`, '-cp', `${LIBS}/*`, main, ...args]];
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

/** Starts the stack's broker, listening on `broker` (unless one is running already), and waits until it answers. */
export async function startKafka(broker: string, log: (line: string) => void): Promise<void> {
  await startKafkaNode({ dir: KAFKA_DIR, listen: broker }, log);
}

/** Starts a broker in its folder (formatted at its first start) unless one runs there, and waits until it answers. */
export async function startKafkaNode(node: KafkaNode, log: (line: string) => void): Promise<void> {
  const { host, port } = hostPort(node.listen);
  const files = filesIn(node.dir);
  const daemon = files.daemon;
  if (runningPid(daemon) === undefined && (await portOpen(host, port))) {
    log(`kafka: a broker not started by this stack is listening on ${node.listen}; leaving it alone`);
  } else if (runningPid(daemon) === undefined) {
    mkdirSync(node.dir, { recursive: true });
    ensureJars(log);
    writeConfig(node);
    const [cmd, format] = java(node.dir, 'kafka.tools.StorageTool', [
      'format',
      '-t',
      clusterId(node.dir),
      '-c',
      files.config,
      '--ignore-formatted',
    ]);
    execFileSync(cmd, format, { stdio: 'ignore' });
    const [javaCmd, args] = java(node.dir, 'kafka.Kafka', [files.config], ['-Xmx512m', '-Xms512m', '-XX:+UseG1GC']);
    const pid = startDaemon(daemon, javaCmd, args, node.dir);
    log(`kafka: started (pid ${pid}), log in ${path.relative(ROOT, daemon.logFile)}`);
  }
  await waitUntil('kafka', () => kafkaAnswers(node.advertise ?? node.listen), {
    timeoutMs: 90_000,
    alive: () => runningPid(daemon) !== undefined || !existsSync(daemon.pidFile),
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n${tail(daemon.logFile)}`);
  });
}

export async function stopKafka(): Promise<boolean> {
  return stopKafkaNode(KAFKA_DIR);
}

/** Stops the broker whose folder is `dir`, if this stack started one there. */
export async function stopKafkaNode(dir: string): Promise<boolean> {
  return stopDaemon(filesIn(dir).daemon);
}
