import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../src/config.js';

type Service = {
  image?: string;
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
    expect(service(role).command?.slice(0, 4)).toEqual(['node', '--import', 'tsx', 'src/main.ts']);
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
});
