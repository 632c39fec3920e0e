import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per process, served by the api at GET /metrics. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'gateway_' });

export const eventsAccepted = new Counter({
  name: 'gateway_events_accepted_total',
  help: 'Events accepted by POST /events (confirmed by RabbitMQ)',
  labelNames: ['eventType'],
  registers: [registry],
});

export const deliveryOutcomes = new Counter({
  name: 'gateway_delivery_outcomes_total',
  help: 'Delivery attempts by channel and outcome (done, transient, permanent, paused) in this process',
  labelNames: ['channel', 'outcome'],
  registers: [registry],
});

/**
 * From the event's timestamp to the provider taking the message: what the traveller waits, retries included. Messages
 * held for quiet hours are left out: their wait is the person's choice, not the gateway's.
 */
export const deliveryLatency = new Histogram({
  name: 'gateway_delivery_latency_seconds',
  help: 'Seconds from the event (eventTimestamp) to the provider accepting the message, by channel',
  labelNames: ['channel'],
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  registers: [registry],
});

/** 0 closed, 1 half-open, 2 open. Read from Redis at scrape time, so the api reports every worker's breakers. */
export const breakerState = new Gauge({
  name: 'gateway_circuit_breaker_state',
  help: 'Circuit breaker per provider: 0 closed, 1 half-open, 2 open',
  labelNames: ['provider'],
  registers: [registry],
});

export const BREAKER_STATE_VALUE = { closed: 0, halfOpen: 1, open: 2 } as const;
