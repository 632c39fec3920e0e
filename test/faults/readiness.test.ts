import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka, stopKafka } from '../../scripts/stack/kafka.js';
import { composeApi, type ComposedApi } from '../../src/roles/api.role.js';
import { testConfig, testLogger, uniquePrefix } from '../helpers/kafka.js';
import { startTcpRelay, type TcpRelay } from '../helpers/tcp-relay.js';
import { waitFor } from '../helpers/wait-for.js';

interface Readiness {
  status: string;
  checks: Record<string, boolean>;
}

/** What an orchestrator sees: `/readyz` follows each dependency going away and coming back. */
describe('fault: /readyz when PostgreSQL or Kafka stops', () => {
  let api: ComposedApi;
  let postgres: TcpRelay;
  let broker: string;
  let url: string;

  const readiness = async () => {
    const response = await fetch(`${url}/readyz`);
    return { code: response.status, body: (await response.json()) as Readiness };
  };
  /** How long until `/readyz` says `ready`, polled as an orchestrator would, every half second. */
  const secondsUntil = async (ready: boolean, timeoutMs: number) => {
    const started = Date.now();
    const seen = await waitFor(
      ready ? 'ready' : 'not ready',
      async () => {
        const r = await readiness();
        return (r.code === 200) === ready ? r : undefined;
      },
      { timeoutMs, intervalMs: 500 },
    );
    return { seconds: (Date.now() - started) / 1000, ...seen };
  };

  beforeAll(async () => {
    const base = testConfig(uniquePrefix('readiness'));
    const database = new URL(base.DATABASE_URL);
    postgres = await startTcpRelay({ host: database.hostname, port: Number(database.port || 5432) });
    database.port = String(postgres.port);
    const config = testConfig(uniquePrefix('readiness'), { DATABASE_URL: database.toString() });
    broker = config.KAFKA_BROKERS[0]!;
    api = await composeApi(config, testLogger, { name: 'test-readiness' });
    url = await api.app.listen({ host: '127.0.0.1', port: 0 });
    await secondsUntil(true, 30_000);
  });
  afterAll(async () => {
    await startKafka(broker, () => {});
    await postgres?.restore().catch(() => {});
    await api?.close();
    await postgres?.close();
  });

  it('is ready with every dependency answering, and names each one it checked', async () => {
    const { code, body } = await readiness();
    expect(code).toBe(200);
    expect(body.checks).toEqual({ kafka: true, rabbitmq: true, redis: true, postgres: true });
  });

  it('turns unready within 5 s of PostgreSQL stopping, naming it, and ready again once it is back', async () => {
    await postgres.cut();
    const down = await secondsUntil(false, 5_000);
    expect(down.seconds).toBeLessThanOrEqual(5);
    expect(down.body.status).toBe('not_ready');
    expect(down.body.checks).toMatchObject({ postgres: false, kafka: true, redis: true, rabbitmq: true });

    await postgres.restore();
    const up = await secondsUntil(true, 15_000);
    expect(up.body.checks.postgres).toBe(true);
  });

  it('turns unready within 5 s of Kafka stopping, naming it, and ready again once it is back', async () => {
    await stopKafka();
    const down = await secondsUntil(false, 5_000);
    expect(down.seconds).toBeLessThanOrEqual(5);
    expect(down.body.checks).toMatchObject({ kafka: false, postgres: true });

    await startKafka(broker, () => {});
    const up = await secondsUntil(true, 30_000);
    expect(up.body.checks.kafka).toBe(true);
  });
});
