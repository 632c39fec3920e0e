import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { bookingConfirmed } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { INGEST_HEADERS } from './helpers/gateway.js';
import { emailsTo } from './helpers/maildev.js';
import { waitFor } from './helpers/wait-for.js';

interface Panel {
  title: string;
  datasource: { uid: string };
  targets: Array<{ expr: string; datasource: { uid: string } }>;
}

const dashboard = JSON.parse(
  readFileSync(new URL('../deploy/grafana/dashboards/gateway.json', import.meta.url), 'utf8'),
) as { uid: string; title: string; panels: Panel[] };
const datasources = parse(
  readFileSync(new URL('../deploy/grafana/provisioning/datasources/prometheus.yml', import.meta.url), 'utf8'),
) as { datasources: Array<{ uid: string; type: string }> };

/** The metric names a PromQL expression reads (a histogram's series by the histogram's own name). */
const metricsIn = (expr: string) =>
  [...expr.matchAll(/\b(gateway_[a-z_]+)\b/g)].map(([, name]) => name!.replace(/_(bucket|sum|count)$/, ''));

describe('the Grafana dashboard (deploy/grafana/dashboards/gateway.json)', () => {
  let gateway: Gateway;
  let metrics: string;

  beforeAll(async () => {
    gateway = await startGateway('dashboard');
    // One booking delivered on every channel, so that each series the dashboard charts has a sample.
    const traveller = {
      userId: `dash-${randomBytes(3).toString('hex')}`,
      email: uniqueEmail('dash'),
      phone: uniquePhone(),
    };
    const booking = bookingConfirmed({
      eventId: undefined,
      userId: traveller.userId,
      userEmail: traveller.email,
      userPhone: traveller.phone,
    });
    const accepted = await fetch(`${gateway.apiUrl}/events`, {
      method: 'POST',
      headers: INGEST_HEADERS,
      body: JSON.stringify(booking),
    });
    expect(accepted.status).toBe(202);
    await waitFor('the booking email', async () => (await emailsTo(traveller.email)).length === 1, {
      timeoutMs: 60_000,
    });
    await fetch(`${gateway.apiUrl}/events`, { method: 'POST' });
    metrics = await waitFor('delivery latency in /metrics', async () => {
      const text = await (await fetch(`${gateway.apiUrl}/metrics`)).text();
      return /^gateway_delivery_latency_seconds_count\{channel="email"\} [1-9]/m.test(text) ? text : undefined;
    });
  });
  afterAll(() => gateway?.close());

  it('charts what an operator watches: deliveries/s per channel, latency, lag, breakers, retries, dead letters', () => {
    const charted = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsIn(t.expr))));
    expect([...charted]).toEqual(
      expect.arrayContaining([
        'gateway_delivery_outcomes_total',
        'gateway_delivery_latency_seconds',
        'gateway_consumer_lag_total',
        'gateway_circuit_breaker_state',
        'gateway_retry_depth',
        'gateway_dlq_depth',
        'gateway_http_requests_total',
      ]),
    );
    expect(dashboard.panels.every((p) => p.title && p.targets.length > 0)).toBe(true);
  });

  it('reads the Prometheus data source that Grafana is provisioned with', () => {
    const [source] = datasources.datasources;
    expect(source?.type).toBe('prometheus');
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid, panel.title).toBe(source!.uid);
      for (const target of panel.targets) expect(target.datasource.uid, panel.title).toBe(source!.uid);
    }
  });

  it('finds every metric it charts in the gateway /metrics, with samples', () => {
    const exposed = new Set([...metrics.matchAll(/^# TYPE (\S+) /gm)].map(([, name]) => name!));
    for (const panel of dashboard.panels)
      for (const target of panel.targets)
        for (const name of metricsIn(target.expr)) {
          expect(exposed.has(name), `${panel.title}: ${name}`).toBe(true);
          expect(metrics, `${panel.title}: ${name} has a sample`).toMatch(
            new RegExp(`^${name}(_bucket|_count)?\\{`, 'm'),
          );
        }
  });

  it('shows the lag of each channel group per partition, and a refused request by its route and status', () => {
    const group = `${gateway.config.KAFKA_TOPIC_PREFIX}email-notification-group`;
    expect(metrics).toMatch(
      new RegExp(
        `^gateway_consumer_lag\\{group="${group.replace(/\./g, '\\.')}",topic="[^"]+",partition="0"\\} \\d+$`,
        'm',
      ),
    );
    expect(metrics).toMatch(/^gateway_http_requests_total\{method="POST",route="\/events",status="401"\} 1$/m);
    expect(metrics).toMatch(/^gateway_dlq_depth\{channel="email"\} 0$/m);
  });
});
