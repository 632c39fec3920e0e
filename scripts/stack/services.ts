import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { waitUntil } from './daemon.js';

/**
 * The servers this machine kind runs for us. `up` checks each at its configured URL; when one is down and it is the
 * local default, the local install is started; otherwise `up` fails, naming the server and how to get it.
 */
export interface Service {
  name: string;
  url: string;
  defaultPort: number;
  probe: () => Promise<void>;
  /** Starts the local install; undefined when this machine has none. */
  localStart?: () => void;
  install: string;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const has = (binary: string) =>
  ['/usr/bin', '/usr/sbin', '/usr/local/bin'].some((dir) => existsSync(`${dir}/${binary}`));
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'ignore', timeout: 120_000 });

/** The URL without its password, for messages. */
export function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export function services(config: { DATABASE_URL: string; REDIS_URL: string; AMQP_URL: string }): Service[] {
  return [
    {
      name: 'PostgreSQL',
      url: config.DATABASE_URL,
      defaultPort: 5432,
      install: 'apt-get install postgresql, or `docker compose up -d postgres`',
      probe: async () => {
        // The maintenance database: the gateway's own may not exist before the first `up`.
        const url = new URL(config.DATABASE_URL);
        url.pathname = '/postgres';
        const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 2000 });
        await client.connect();
        await client.end();
      },
      localStart:
        has('pg_ctlcluster') && existsSync('/etc/postgresql')
          ? () =>
              readdirSync('/etc/postgresql').forEach((v) =>
                run('pg_ctlcluster', ['--skip-systemctl-redirect', v, 'main', 'start']),
              )
          : undefined,
    },
    {
      name: 'Redis',
      url: config.REDIS_URL,
      defaultPort: 6379,
      install: 'apt-get install redis-server, or `docker compose up -d redis`',
      probe: async () => {
        const redis = new Redis(config.REDIS_URL, {
          lazyConnect: true,
          connectTimeout: 2000,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        try {
          await redis.connect();
          await redis.ping();
        } finally {
          redis.disconnect();
        }
      },
      localStart: has('redis-server')
        ? () =>
            run('redis-server', [
              '--daemonize',
              'yes',
              '--bind',
              '127.0.0.1',
              '-::1',
              '--port',
              '6379',
              '--save',
              '',
              '--appendonly',
              'no',
              '--dir',
              '/var/lib/redis',
              '--logfile',
              '/var/log/redis/ci.log',
            ])
        : undefined,
    },
    {
      name: 'RabbitMQ',
      url: config.AMQP_URL,
      defaultPort: 5672,
      install: 'apt-get install rabbitmq-server, or `docker compose up -d rabbitmq`',
      probe: async () => {
        const connection = await amqp.connect(config.AMQP_URL, { timeout: 2000 });
        await connection.close();
      },
      localStart: has('rabbitmq-server') ? () => run('rabbitmq-server', ['-detached']) : undefined,
    },
  ];
}

const probeOk = (service: Service) =>
  service.probe().then(
    () => true,
    () => false,
  );

/** Makes sure a server answers, starting its local install when that is possible; throws a message naming it. */
export async function ensureService(service: Service, log: (line: string) => void): Promise<void> {
  let lastError: unknown;
  try {
    await service.probe();
    return;
  } catch (error) {
    lastError = error;
  }
  const url = new URL(service.url);
  const local = LOCAL_HOSTS.has(url.hostname) && Number(url.port || service.defaultPort) === service.defaultPort;
  if (local && service.localStart) {
    log(`${service.name}: not answering at ${redact(service.url)}; starting the local install`);
    try {
      service.localStart();
      await waitUntil(service.name, () => probeOk(service), { timeoutMs: 90_000 });
      return;
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(
    `${service.name} is not reachable at ${redact(service.url)} (${(lastError as Error).message || lastError}). ` +
      `Start it, or install it: ${service.install}.`,
  );
}
