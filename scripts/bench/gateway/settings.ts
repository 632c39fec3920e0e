/**
 * The benchmark's knobs, read once from the environment. Defaults are the throughput issue's figures; smaller ones
 * (BENCH_RATE=400 BENCH_SECONDS=15) make a quick run of the same harness.
 */
export interface BenchSettings {
  /** Target deliveries/s of the sustained mix, over all four channels. */
  rate: number;
  /** How long the sustained mix is published. */
  seconds: number;
  /** `--role worker` processes, all members of the same consumer groups. */
  workers: number;
  /** `--role api` processes; sockets and the ingest load are spread over them as a load balancer would. */
  apiProcesses: number;
  /** Travellers with a socket during the sustained mix. */
  users: number;
  /** Travellers on the fanout train, every one with a socket. */
  fanoutTravellers: number;
  /** Upper bound on waiting for the backlog to drain after the sustained mix. */
  drainCapS: number;
  /** Upper bound on waiting for every fanout delivery. */
  fanoutCapS: number;
  /**
   * Length of the separate 1,000 events/s websocket phase, run only when the sustained mix is not at that rate, and of
   * the one at half the rate the sustained mix reached.
   */
  wsPhaseSeconds: number;
  /** The channels part: seconds each channel is loaded alone, after its warm-up. */
  channelSeconds: number;
  /** Whole-run budget: waits shrink so that `npm run bench` ends within it even against a slow gateway. */
  budgetS: number;
  /** Ingest: measured seconds and autocannon connections. */
  ingestSeconds: number;
  ingestConnections: number;
  /** The rate part: the SMS and WhatsApp senders' configured sends/s, held across the workers. */
  smsRate: number;
  whatsappRate: number;
  /** The rate part: seconds of SMS at its rate that its booking burst makes (SMS rate × this many events). */
  rateSeconds: number;
}

function num(env: NodeJS.ProcessEnv, name: string, fallback: number, { min = 1, max = 1e9 } = {}): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new Error(`${name}=${raw}: must be a number from ${min} to ${max}`);
  return value;
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const settings: BenchSettings = {
    rate: num(env, 'BENCH_RATE', 5000, { min: 10 }),
    seconds: num(env, 'BENCH_SECONDS', 60, { max: 600 }),
    workers: Math.round(num(env, 'BENCH_WORKERS', 1, { max: 16 })),
    apiProcesses: Math.round(num(env, 'BENCH_API_PROCESSES', 2, { max: 8 })),
    users: Math.round(num(env, 'BENCH_USERS', 1000, { min: 10, max: 20_000 })),
    fanoutTravellers: Math.round(num(env, 'BENCH_FANOUT', 5000, { min: 10, max: 10_000 })),
    drainCapS: num(env, 'BENCH_DRAIN_S', 60, { min: 0, max: 600 }),
    fanoutCapS: num(env, 'BENCH_FANOUT_WAIT_S', 60, { max: 600 }),
    wsPhaseSeconds: num(env, 'BENCH_WS_SECONDS', 15, { max: 120 }),
    channelSeconds: num(env, 'BENCH_CHANNEL_SECONDS', 15, { min: 3, max: 120 }),
    budgetS: num(env, 'BENCH_BUDGET_S', 600, { min: 30, max: 3600 }),
    ingestSeconds: num(env, 'BENCH_DURATION', 15, { max: 300 }),
    ingestConnections: Math.round(num(env, 'BENCH_CONNECTIONS', 50, { max: 2000 })),
    smsRate: Math.round(num(env, 'BENCH_SMS_RATE', 10, { max: 1000 })),
    whatsappRate: Math.round(num(env, 'BENCH_WHATSAPP_RATE', 20, { max: 1000 })),
    rateSeconds: num(env, 'BENCH_RATE_SECONDS', 25, { min: 3, max: 120 }),
  };
  // The rate part reads its messages back from the sandbox, which keeps the newest 5,000 (SMS and WhatsApp together).
  if (settings.smsRate * settings.rateSeconds > 2000)
    throw new Error(
      `BENCH_SMS_RATE × BENCH_RATE_SECONDS = ${settings.smsRate * settings.rateSeconds}: must be at most 2000 events`,
    );
  return settings;
}
