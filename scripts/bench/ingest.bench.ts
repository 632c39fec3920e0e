/**
 * `npm run bench -- ingest`: how many events/s POST /events accepts (202 after RabbitMQ confirmed), and at what
 * latency. The api runs as `npm start` runs it, in a process of its own (the load generator must not share its
 * event loop), on a queue of its own that is deleted after; every server is on this machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import autocannon from 'autocannon';
import { loadConfig } from '../../src/config.js';
import { eventQueues } from '../../src/queue/event-queues.js';
import { freePort } from '../../src/util/free-port.js';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 15);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const BODY = JSON.stringify({ type: 'FLIGHT_DELAY', flightNumber: 'W2121', payload: { minutes: 90, reason: 'weather' } });

function run(url: string, duration: number): Promise<autocannon.Result> {
  return autocannon({
    url: `${url}/events`,
    method: 'POST',
    connections: CONNECTIONS,
    pipelining: 1,
    duration,
    headers: { 'content-type': 'application/json', 'x-api-key': 'dev-ingest-key' },
    body: BODY,
  });
}

async function startApi(env: NodeJS.ProcessEnv, url: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', 'api'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ready) return child;
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill();
  throw new Error('the api did not become ready');
}

export async function benchIngest(): Promise<void> {
  const prefix = `bench.${randomBytes(3).toString('hex')}.`;
  const port = await freePort();
  const env = { ...process.env, AMQP_QUEUE_PREFIX: prefix, PORT: String(port), LOG_LEVEL: 'error' };
  const config = loadConfig(env);
  const url = `http://127.0.0.1:${port}`;
  const api = await startApi(env, url);
  try {
    await run(url, 3); // warm-up: JIT, connections
    const result = await run(url, DURATION_S);
    const accepted = result['2xx'];
    console.log(`ingest: ${CONNECTIONS} connections, ${DURATION_S} s, body ${BODY.length} B, api in its own process`);
    console.log(`  accepted events/s  ${(accepted / DURATION_S).toFixed(0)} (median of per-second samples ${result.requests.p50})`);
    console.log(`  latency ms         p50 ${result.latency.p50}  p90 ${result.latency.p90}  p99 ${result.latency.p99}  max ${result.latency.max}`);
    console.log(`  non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts}`);
    console.log(`  goal: ≥ 3000 events/s with p99 < 50 ms → ${accepted / DURATION_S >= 3000 && result.latency.p99 < 50 ? 'met' : 'NOT met'}`);
  } finally {
    api.kill('SIGTERM');
    await new Promise((resolve) => api.once('exit', resolve));
    const admin = await amqp.connect(config.AMQP_URL);
    const channel = await admin.createChannel();
    const queues = eventQueues(prefix);
    await channel.deleteQueue(queues.events);
    await channel.deleteQueue(queues.deadLetters);
    await admin.close();
  }
}
