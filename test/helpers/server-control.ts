import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { services } from '../../scripts/stack/services.js';
import { testConfig } from './kafka.js';
import { waitFor } from './wait-for.js';

/** The servers a fault test stops and starts again: this machine's own installs, as an operator would restart them. */
export type ServerName = 'PostgreSQL' | 'Redis' | 'RabbitMQ';

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'ignore', timeout: 120_000 });
const clusters = () => readdirSync('/etc/postgresql');

const STOP: Record<ServerName, () => void> = {
  // `-m fast`: what a minor-version upgrade or a failover does to the clients: their connections are terminated.
  PostgreSQL: () =>
    clusters().forEach((v) => run('pg_ctlcluster', ['--skip-systemctl-redirect', v, 'main', 'stop', '-m', 'fast'])),
  Redis: () => run('redis-cli', ['-p', '6379', 'shutdown', 'nosave']),
  // The broker application, not the Erlang node: every connection is closed, and it starts again in seconds.
  RabbitMQ: () => run('rabbitmqctl', ['stop_app']),
};

const START: Partial<Record<ServerName, () => void>> = {
  RabbitMQ: () => run('rabbitmqctl', ['start_app']),
};

function serviceOf(name: ServerName) {
  const service = services(testConfig('server-control')).find((s) => s.name === name);
  if (!service) throw new Error(`no such server: ${name}`);
  return service;
}

export function stopServer(name: ServerName): void {
  STOP[name]();
}

/** Starts it again and waits until it answers. */
export async function startServer(name: ServerName): Promise<void> {
  const service = serviceOf(name);
  const start = START[name] ?? service.localStart;
  if (!start) throw new Error(`${name} has no local install to start`);
  start();
  await waitFor(`${name} to answer`, () => service.probe().then(() => true), { timeoutMs: 60_000, intervalMs: 500 });
}
