/**
 * Ingest: how many events/s POST /events accepts (202 after RabbitMQ confirmed) and at what latency, while the
 * workers of the same deployment deliver. The api may run as several processes; autocannon then spreads its
 * connections over them round-robin, as a load balancer in front of them would. The partners' short form is posted:
 * a flight delay for W2121, which the demo travellers seeded at start follow, so every event becomes deliveries.
 */
import autocannon from 'autocannon';
import { eventQueues } from '../../src/queue/event-queues.js';
import type { Deployment } from './gateway/deployment.js';
import type { ProcSummary } from './gateway/proc-stats.js';
import { bridgeConsumers } from './gateway/readiness.js';
import type { Progress } from './gateway/timing.js';
import amqp from 'amqplib';

const BODY = JSON.stringify({
  type: 'FLIGHT_DELAY',
  flightNumber: 'W2121',
  payload: { minutes: 90, reason: 'weather' },
});
const WARMUP_S = 3;

export interface IngestResult {
  apiProcesses: number;
  connections: number;
  seconds: number;
  bodyBytes: number;
  acceptedPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Accepted events the bridge had not moved to Kafka yet when the load stopped. */
  queuedAtEnd: number;
  processes: ProcSummary[];
}

function run(urls: string[], connections: number, duration: number, apiKey: string): Promise<autocannon.Result> {
  return autocannon({
    // autocannon takes a list of targets (its types say string) and deals connections out to them in turn.
    url: urls.map((u) => `${u}/events`) as unknown as string,
    method: 'POST',
    connections: Math.max(urls.length, Math.round(connections / urls.length) * urls.length),
    pipelining: 1,
    duration,
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: BODY,
  });
}

async function queueDepth(amqpUrl: string, queue: string): Promise<number> {
  const connection = await amqp.connect(amqpUrl);
  try {
    return (await (await connection.createChannel()).checkQueue(queue)).messageCount;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export async function benchIngest(
  deployment: Deployment,
  { seconds, connections }: { seconds: number; connections: number },
  progress: Progress,
): Promise<IngestResult> {
  const { apiUrls, config } = deployment;
  const apiKey = config.INGEST_API_KEYS[0]!;
  progress(
    `ingest: ${connections} connections over ${apiUrls.length} api process(es), ${WARMUP_S} s warm-up + ${seconds} s, workers delivering meanwhile`,
  );
  await run(apiUrls, connections, WARMUP_S, apiKey); // JIT, keep-alive connections, RabbitMQ channels
  const from = deployment.sampler.now();
  const result = await run(apiUrls, connections, seconds, apiKey);
  const processes = deployment.sampler.summary(from, deployment.sampler.now());
  const queue = eventQueues(deployment.prefix).events;
  const queuedAtEnd = await queueDepth(config.AMQP_URL, queue).catch(() => NaN);
  const consumers = await bridgeConsumers(config.AMQP_URL, queue);
  const out: IngestResult = {
    apiProcesses: apiUrls.length,
    connections: result.connections,
    seconds,
    bodyBytes: BODY.length,
    acceptedPerSecond: Math.round(result['2xx'] / seconds),
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    queuedAtEnd,
    processes,
  };
  progress(
    `ingest: ${out.acceptedPerSecond} accepted/s, p50 ${out.latencyMs.p50} ms, p99 ${out.latencyMs.p99} ms, non-2xx ${out.non2xx}, ` +
      `errors ${out.errors}; ${queuedAtEnd} waiting in RabbitMQ for the bridge (${consumers} consumer)`,
  );
  return out;
}
