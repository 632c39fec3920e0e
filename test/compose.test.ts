import { existsSync, readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../src/config.js';

type Service = {
  image?: string;
  container_name?: string;
  volumes?: string[];
  healthcheck?: { test?: string[] };
  build?: unknown;
  command?: string[];
  ports?: Array<string | { published?: string | number; target?: number }>;
  environment?: Record<string, string | number | boolean>;
  depends_on?: Record<string, { condition?: string }> | string[];
};

const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const defaults = loadConfig({ NODE_ENV: 'development' });
const gatewayRoles = ['api', 'worker', 'sandbox'] as const;

function service(name: string): Service {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

/** The host ports a service publishes, each with the container port it maps to. */
function published(name: string): Array<{ host: number; container: number }> {
  return (service(name).ports ?? []).map((entry) => {
    if (typeof entry !== 'string') return { host: Number(entry.published), container: Number(entry.target) };
    const parts = entry.split(':');
    return { host: Number(parts.at(-2)), container: Number(parts.at(-1)) };
  });
}

function environment(name: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service(name).environment ?? {}).map(([key, value]) => [key, String(value)]),
  );
}

const portOf = (address: string) => Number(new URL(address.includes('//') ? address : `tcp://${address}`).port);

describe('docker-compose.yml', () => {
  it('defines the infrastructure services and every gateway role', () => {
    for (const name of ['kafka', 'rabbitmq', 'redis', 'postgres', 'mailhog', ...gatewayRoles]) {
      expect(services, name).toHaveProperty(name);
    }
  });

  it('runs Kafka from apache/kafka:3.9.1, reachable from the host on 9092 and inside the network on its own listener', () => {
    expect(service('kafka').image).toBe('apache/kafka:3.9.1');
    expect(published('kafka')).toContainEqual({ host: 9092, container: 9092 });
    const advertised = environment('kafka').KAFKA_ADVERTISED_LISTENERS?.split(',') ?? [];
    expect(advertised).toContain(`PLAINTEXT_HOST://${defaults.KAFKA_BROKERS[0]}`);
    expect(advertised).toContain(`PLAINTEXT://${environment('api').KAFKA_BROKERS}`);
  });

  it('publishes each server on the port the config defaults use', () => {
    const expected: Array<[string, number]> = [
      ['postgres', portOf(defaults.DATABASE_URL)],
      ['redis', portOf(defaults.REDIS_URL)],
      ['rabbitmq', portOf(defaults.AMQP_URL)],
      ['mailhog', portOf(defaults.SMTP_URL)],
      ['kafka', portOf(defaults.KAFKA_BROKERS[0] ?? '')],
      ['api', defaults.PORT],
      ['sandbox', defaults.SANDBOX_PORT],
    ];
    expect(expected.map(([, port]) => port)).toEqual([5432, 6379, 5672, 1025, 9092, 3000, 3100]);
    for (const [name, port] of expected) {
      expect(published(name), name).toContainEqual({ host: port, container: port });
    }
  });

  it.each(gatewayRoles)('builds %s from the repo Dockerfile with an environment the config accepts', (role) => {
    expect(service(role).build).toBe('.');
    // The image's compiled code, not TypeScript through tsx (the image has production dependencies only).
    expect(service(role).command?.slice(0, 2)).toEqual(['node', 'dist/main.js']);
    const config = loadConfig(environment(role));
    expect(config.NODE_ENV).toBe('development');
    expect(config.HOST).toBe('0.0.0.0');
    expect(config.PORT).toBe(defaults.PORT);
    expect(config.SANDBOX_PORT).toBe(defaults.SANDBOX_PORT);
  });

  it.each(gatewayRoles)('points %s at the compose services with the default ports, credentials and paths', (role) => {
    const config = loadConfig(environment(role));
    const urls = [
      ['DATABASE_URL', 'postgres'],
      ['REDIS_URL', 'redis'],
      ['AMQP_URL', 'rabbitmq'],
      ['SMTP_URL', 'mailhog'],
      ['TWILIO_API_BASE_URL', 'sandbox'],
    ] as const;
    for (const [key, host] of urls) {
      const actual = new URL(config[key]);
      const expected = new URL(defaults[key]);
      expect(actual.hostname, key).toBe(host);
      const parts = (u: URL) => [u.protocol, u.username, u.password, u.port, u.pathname];
      expect(parts(actual), key).toEqual(parts(expected));
    }
    expect(config.KAFKA_BROKERS.map((broker) => broker.split(':')[0])).toEqual(['kafka']);
    // MailHog's UI/API replaces MailDev's (1080) and is opened from the host's browser.
    const preview = new URL(config.MAIL_PREVIEW_URL);
    expect(published('mailhog')).toContainEqual({ host: Number(preview.port), container: 8025 });
  });

  it('makes every depends_on target an existing service', () => {
    for (const [name, definition] of Object.entries(services)) {
      const targets = Array.isArray(definition.depends_on)
        ? definition.depends_on
        : Object.keys(definition.depends_on ?? {});
      for (const target of targets) expect(services, `${name} depends on ${target}`).toHaveProperty(target);
    }
  });

  it('lets the worker scale (`--scale worker=3`): no published port, no fixed name, a healthcheck of its own', () => {
    expect(service('worker').ports ?? []).toEqual([]);
    expect(service('worker').container_name).toBeUndefined();
    const probe = service('worker').healthcheck?.test?.join(' ') ?? '';
    expect(probe).toContain(`:${loadConfig(environment('worker')).METRICS_PORT}/readyz`);
  });

  it.each(gatewayRoles)('gives %s a healthcheck', (role) => {
    expect(service(role).healthcheck?.test?.[0], role).toBe('CMD');
  });

  it('runs Prometheus scraping the api and every worker replica, and Grafana with the dashboard provisioned', () => {
    const mounts = (name: string) => (service(name).volumes ?? []).map((v) => v.split(':'));
    for (const name of ['prometheus', 'grafana'])
      for (const [host] of mounts(name)) expect(existsSync(new URL(`../${host}`, import.meta.url)), host).toBe(true);
    const [prometheusFile] = mounts('prometheus').find(([, inside]) => inside!.endsWith('prometheus.yml'))!;
    const scrape = parse(readFileSync(new URL(`../${prometheusFile}`, import.meta.url), 'utf8')) as {
      scrape_configs: Array<{
        static_configs?: Array<{ targets: string[] }>;
        dns_sd_configs?: Array<{ names: string[]; port: number }>;
      }>;
    };
    const targets = scrape.scrape_configs.flatMap((c) => c.static_configs?.flatMap((s) => s.targets) ?? []);
    expect(targets).toContain(`api:${defaults.PORT}`);
    const discovered = scrape.scrape_configs.flatMap((c) => c.dns_sd_configs ?? []);
    expect(discovered).toContainEqual(
      expect.objectContaining({ names: ['worker'], port: loadConfig(environment('worker')).METRICS_PORT }),
    );
    const dashboards = mounts('grafana').find(([, inside]) => inside === '/var/lib/grafana/dashboards')!;
    expect(existsSync(new URL(`../${dashboards[0]}/gateway.json`, import.meta.url))).toBe(true);
  });
});

describe('Dockerfile', () => {
  const lines = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const finalStage = lines.slice(lines.map((l) => l.startsWith('FROM ')).lastIndexOf(true));

  it('compiles with tsc in a build stage and runs node dist/main.js on node:24-slim', () => {
    expect(lines).toContain('RUN npm run build');
    expect(finalStage[0]).toBe('FROM node:24-slim');
    expect(finalStage).toContain('CMD ["node", "dist/main.js"]');
    expect(finalStage.some((l) => /^COPY --from=\S+ \/app\/dist/.test(l))).toBe(true);
  });

  it('installs production dependencies only, and runs as a user other than root', () => {
    expect(finalStage.some((l) => l.startsWith('RUN npm ci --omit=dev'))).toBe(true);
    const user = finalStage.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)\b/);
  });
});

describe('package.json engines', () => {
  const { engines } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    engines: { node: string };
  };
  it.each(['20.19.0', '22.12.0', '24.0.0'])('allows Node %s', (version) => {
    expect(semver.satisfies(version, engines.node)).toBe(true);
  });
  it('refuses Node 18', () => {
    expect(semver.satisfies('18.20.0', engines.node)).toBe(false);
  });
});
