import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { selectRoles } from '../src/roles/role-selection.js';
import { freePort } from '../src/util/free-port.js';
import { freshDatabase } from './helpers/full-gateway.js';
import { deleteQueues } from './helpers/gateway.js';
import { testConfig, uniquePrefix } from './helpers/kafka.js';
import { waitFor } from './helpers/wait-for.js';
import { eventQueues } from '../src/queue/event-queues.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What a real deployment sets: long random secrets and the real Twilio API. */
const PRODUCTION = {
  NODE_ENV: 'production',
  INGEST_API_KEYS: 'pk_4f8a1c9e2b7d6035a1e4c8b9d2f70a6e',
  ADMIN_TOKEN: 'adm_9c3e7a1f5b2d8046e1a9c7b3d5f2084c',
  JWT_SECRET: 'jwt_2b6e9a4c1f7d3085b2e6a9c4d1f7308b',
  TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`,
  TWILIO_AUTH_TOKEN: '7e1c4a9f2b6d8035c1e7a4f9b2d60358',
  TWILIO_API_BASE_URL: 'https://api.twilio.com',
  DATA_ENCRYPTION_KEYS: 'k2026:Vq0wTnHkX1dP3c9yR6bF2mJ8aL4sE7gU5iO0pZ1xC3w=',
  DATA_HASH_KEY: 'h2Jt8Qw4Lr6Yx0Nc3Vb5Mz7Kp9Gf1Ds2Ae4Ru6Ti8Oy=',
};

interface GatewayProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

/** `node --import tsx src/main.ts [args]` as an operator starts it, with only `env` (and PATH) in its environment. */
function startMain(args: string[], env: Record<string, string>): GatewayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, exited, output: () => text };
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

describe('a process started without NODE_ENV, or with NODE_ENV=production', () => {
  it('refuses to start on the development defaults, naming each variable and saying what a missing NODE_ENV means', async () => {
    const gateway = startMain([], {});
    expect(await gateway.exited).toBe(1);
    for (const name of ['INGEST_API_KEYS', 'ADMIN_TOKEN', 'JWT_SECRET', 'TWILIO_AUTH_TOKEN', 'TWILIO_API_BASE_URL']) {
      expect(gateway.output()).toContain(`  - ${name}: `);
    }
    expect(gateway.output()).toContain('NODE_ENV: not set, which means production');
  });

  it('refuses weak secrets, naming the variable', async () => {
    const gateway = startMain([], { ...PRODUCTION, JWT_SECRET: 'eight-ch', ADMIN_TOKEN: 'admin-token-123' });
    expect(await gateway.exited).toBe(1);
    expect(gateway.output()).toContain('JWT_SECRET: must be at least 32 characters in production');
    expect(gateway.output()).toContain('ADMIN_TOKEN: must be at least 32 characters in production');
  });

  it('refuses the Twilio sandbox as its SMS provider', async () => {
    const gateway = startMain([], { ...PRODUCTION, TWILIO_API_BASE_URL: 'http://127.0.0.1:3100' });
    expect(await gateway.exited).toBe(1);
    expect(gateway.output()).toMatch(
      /TWILIO_API_BASE_URL: must be an https:\/\/ address that is not this machine in production/,
    );
  });

  it('refuses to run the sandbox role', async () => {
    const gateway = startMain(['--role', 'sandbox,api'], PRODUCTION);
    expect(await gateway.exited).toBe(1);
    expect(gateway.output()).toContain('the sandbox role is for development only');
  });
});

describe('a production gateway started without --role', () => {
  const prefix = uniquePrefix('production');
  const cleanup: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('runs worker, bridge and api, with no sandbox listening and no development routes', async () => {
    const database = await freshDatabase(testConfig(prefix).DATABASE_URL);
    cleanup.push(database.drop);
    const [port, sandboxPort] = [await freePort(), await freePort()];
    const gateway = startMain([], {
      ...PRODUCTION,
      HOST: '127.0.0.1',
      PORT: String(port),
      SANDBOX_PORT: String(sandboxPort),
      DATABASE_URL: database.url,
      KAFKA_TOPIC_PREFIX: prefix,
      AMQP_QUEUE_PREFIX: prefix,
    });
    cleanup.push(async () => {
      if (gateway.child.exitCode === null) gateway.child.kill('SIGTERM');
      await gateway.exited;
    });
    cleanup.push(() => deleteQueues(testConfig(prefix).AMQP_URL, eventQueues(prefix)));

    const api = `http://127.0.0.1:${port}`;
    await waitFor(
      `the api at ${api} (output so far: ${gateway.output()})`,
      async () => (await fetch(`${api}/healthz`)).ok,
      { timeoutMs: 60_000 },
    );
    expect(gateway.output()).toContain(
      'Notification gateway running: worker (email, sms, whatsapp, websocket), bridge, api',
    );

    expect(await listening(sandboxPort)).toBe(false);
    const login = await fetch(`${api}/auth/dev-login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"userId":"demo-ravi"}',
    });
    expect(login.status).toBe(404);
    for (const path of ['/previews/emails', '/previews/messages', '/previews/alerts', '/previews/config']) {
      expect((await fetch(`${api}${path}`)).status, path).toBe(404);
    }
    // Security headers come with every answer.
    const health = await fetch(`${api}/healthz`);
    expect(health.headers.get('x-content-type-options')).toBe('nosniff');
    expect(health.headers.get('content-security-policy')).toContain("default-src 'self'");
  });
});

describe('role selection', () => {
  it('starts the gateway without the sandbox by default, in development too', () => {
    expect(selectRoles(undefined, 'development')).toEqual(['worker', 'bridge', 'api']);
    expect(selectRoles(undefined, 'production')).toEqual(['worker', 'bridge', 'api']);
  });

  it('runs the sandbox in development only when asked for by name, in start order', () => {
    expect(selectRoles('api,sandbox,worker,bridge', 'development')).toEqual(['sandbox', 'worker', 'bridge', 'api']);
    expect(() => selectRoles('sandbox', 'production')).toThrow(/development only/);
    expect(() => selectRoles('api,mailer', 'development')).toThrow(/unknown role mailer/);
  });
});
