import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A process's metrics: made once by the composition root and handed to what counts (the ingest route, the delivery
 * pipelines) and to what serves them (`GET /metrics`). Every role in one process shares one; a test gets its own.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gateway_' });
  const registers = [registry];
  return {
    registry,
    eventsAccepted: new Counter({
      name: 'gateway_events_accepted_total',
      help: 'Events accepted by POST /events (confirmed by RabbitMQ)',
      labelNames: ['eventType'],
      registers,
    }),
    deliveryOutcomes: new Counter({
      name: 'gateway_delivery_outcomes_total',
      help: 'Delivery attempts by channel and outcome (done, transient, permanent, paused, held, handed-over) in this process',
      labelNames: ['channel', 'outcome'],
      registers,
    }),
    /**
     * From the event's timestamp to the provider taking the message: what the traveller waits, retries included.
     * Messages held for quiet hours are left out: their wait is the person's choice, not the gateway's.
     */
    deliveryLatency: new Histogram({
      name: 'gateway_delivery_latency_seconds',
      help: 'Seconds from the event (eventTimestamp) to the provider accepting the message, by channel',
      labelNames: ['channel'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    }),
    /** How long sends waited for a place in their sender's rate (SMS_SENDS_PER_SECOND and the like). */
    sendRateWait: new Histogram({
      name: 'gateway_send_rate_wait_seconds',
      help: "Seconds a send waited for its sender's rate to allow it, by channel",
      labelNames: ['channel'],
      buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers,
    }),
    /** Deliveries whose final status came from asking the provider, because their status callbacks never came. */
    statusesReconciled: new Counter({
      name: 'gateway_status_reconciled_total',
      help: 'SMS and WhatsApp deliveries settled by asking the provider after their status callbacks were lost, by channel and final status',
      labelNames: ['channel', 'status'],
      registers,
    }),
    /** Delivery status notices to operators' webhooks, by what became of each try. */
    statusNotices: new Counter({
      name: 'gateway_status_notices_total',
      help: 'Status webhook posts by outcome: posted (2xx), refused (tried again later), given_up (past the retry window), dropped (webhook removed), deferred (its receiver busy or not answering: tried later, not posted)',
      labelNames: ['outcome'],
      registers,
    }),
    /** By the route's pattern (`/users/:userId/preferences`), never the raw URL: one series per route, not per user. */
    httpRequests: new Counter({
      name: 'gateway_http_requests_total',
      help: 'HTTP requests answered, by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'gateway_http_request_duration_seconds',
      help: 'Seconds from an HTTP request arriving to its answer, by method and route',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    /** 0 closed, 1 half-open, 2 open. Read from Redis at scrape time, so the api reports every worker's breakers. */
    breakerState: new Gauge({
      name: 'gateway_circuit_breaker_state',
      help: 'Circuit breaker per provider: 0 closed, 1 half-open, 2 open',
      labelNames: ['provider'],
      registers,
    }),
  };
}

export type GatewayMetrics = ReturnType<typeof createMetrics>;

/** What a delivery pipeline counts. */
export type DeliveryMetrics = Pick<GatewayMetrics, 'deliveryOutcomes' | 'deliveryLatency'>;

export const BREAKER_STATE_VALUE = { closed: 0, halfOpen: 1, open: 2 } as const;
