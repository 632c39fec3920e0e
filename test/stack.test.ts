import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { EVENT_TOPICS } from '../src/events/index.js';
import { createKafka } from '../src/kafka/client.js';
import { portOpen } from '../scripts/stack/daemon.js';
import { kafkaDaemon } from '../scripts/stack/kafka.js';
import { services } from '../scripts/stack/services.js';
import { testLogger } from './helpers/kafka.js';

const run = promisify(execFile);
const config = loadConfig({ ...process.env, KAFKA_TOPIC_PREFIX: '' });

function stack(command: string, env: Record<string, string> = {}) {
  return run('npx', ['tsx', 'scripts/stack.ts', command], { env: { ...process.env, ...env }, timeout: 240_000 });
}

/** Pids of every Kafka broker JVM on this machine (whoever started it). */
function brokerPids(): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => / kafka\.Kafka /.test(line))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

const answers = async () => ({
  kafka: await portOpen('127.0.0.1', 9092),
  smtp: await portOpen('127.0.0.1', 1025),
  mailUi: await portOpen('127.0.0.1', 1080),
  postgres: await services(config)[0]!
    .probe()
    .then(
      () => true,
      () => false,
    ),
  redis: await services(config)[1]!
    .probe()
    .then(
      () => true,
      () => false,
    ),
  rabbitmq: await services(config)[2]!
    .probe()
    .then(
      () => true,
      () => false,
    ),
});

describe('npm run stack:up / stack:down', () => {
  it('a second up leaves the one running broker alone', async () => {
    await stack('up');
    const before = brokerPids();
    const { stdout } = await stack('up');
    expect(stdout).toContain('kafka: ok');
    expect(brokerPids()).toEqual(before);
    expect(before).toHaveLength(1);
    expect(before[0]).toBe(Number(readFileSync(kafkaDaemon.pidFile, 'utf8')));
  });

  it('creates the four event topics with 3 partitions each', async () => {
    const admin = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'stack-test', logger: testLogger }).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: EVENT_TOPICS });
      expect(topics.map((t) => [t.name, t.partitions.length]).sort()).toEqual(EVENT_TOPICS.map((t) => [t, 3]).sort());
    } finally {
      await admin.disconnect();
    }
  });

  it('fails naming PostgreSQL when it is down and cannot be started', async () => {
    const error = await stack('up', { DATABASE_URL: 'postgres://postgres@127.0.0.1:5999/gateway' }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(error?.code).not.toBe(0);
    expect(error?.stderr).toMatch(/PostgreSQL is not reachable at postgres:\/\/postgres@127\.0\.0\.1:5999\/gateway/);
    expect(error?.stderr).toContain('apt-get install postgresql');
  });

  it('status reports every server', async () => {
    const { stdout } = await stack('status');
    for (const name of ['PostgreSQL', 'Redis', 'RabbitMQ', 'Kafka', 'MailDev'])
      expect(stdout).toMatch(new RegExp(`${name}\\s+up`));
  });

  it('down stops the broker and MailDev and nothing else; up brings them back', async () => {
    await stack('down');
    expect(await answers()).toEqual({
      kafka: false,
      smtp: false,
      mailUi: false,
      postgres: true,
      redis: true,
      rabbitmq: true,
    });
    expect(brokerPids()).toEqual([]);
    await expect(stack('status')).rejects.toMatchObject({ code: 1 });

    await stack('up');
    expect(await answers()).toEqual({
      kafka: true,
      smtp: true,
      mailUi: true,
      postgres: true,
      redis: true,
      rabbitmq: true,
    });
  });
});
