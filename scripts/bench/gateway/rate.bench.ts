/**
 * The send rates per provider sender: workers with SMS and WhatsApp rates configured (the senders' own, new each run,
 * so no other run's window in the shared Redis counts), a burst of booking confirmations that asks for ~25 s of SMS at
 * once, and then, from the sandbox's own receive times, the busiest second of each sender against its rate, the rate
 * reached, and when the unlimited email was all out. Measured as test/send-rates.test.ts measures it.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { Channel } from '../../../src/events/index.js';
import type { GatewayContext } from './context.js';
import type { WorkerSpec } from './deployment.js';
import { purgeBacklog } from './kafka-resources.js';
import { percentile } from './latency.js';
import { notSentFirstTime, settledForEvents } from './ledger.js';
import { createEventFactory } from './mix.js';
import type { ProcSummary } from './proc-stats.js';
import { busiestSecond, receiveTimesBySender } from './sandbox-times.js';
import type { BenchSettings } from './settings.js';
import { makeTravellers, seedUsers } from './travellers.js';
import { every, round, sleep } from './timing.js';
import { fieldCipherOf } from '../../../src/util/field-cipher.js';

/** At least two workers: one window shared by processes is what is shown, not one process pacing itself. */
const MIN_WORKERS = 2;

export interface SenderFigures {
  channel: Extract<Channel, 'sms' | 'whatsapp'>;
  sender: string;
  /** Configured sends/s. */
  perSecond: number;
  expected: number;
  /** Messages from this sender the sandbox received. */
  received: number;
  /** Most received in any window [t, t + 1 s). */
  busiestSecond: number;
  /** received / (last − first receive): the rate reached. */
  meanPerSecond: number | null;
  spanMs: number | null;
  /** ms from publishing the burst to the last message received. */
  lastMs: number | null;
  /**
   * Between one message's arrival and the next: the worker spaces sends 1/rate of (1 s + margin) apart, so `min` shows
   * that spacing (less the network's jitter) and `p50` above it what each turn adds on the way.
   */
  gapMs: { min: number; p50: number; p99: number } | null;
  held: boolean;
}

export interface RateResult {
  workers: number;
  events: number;
  marginMs: number;
  workerEnv: Record<string, string>;
  capMs: number;
  waitedMs: number;
  /** Restarting the workers with the rates (and emptying the topics first); null when they started with them. */
  restartMs: number | null;
  senders: SenderFigures[];
  /** Email has no rate: it should be out long before the SMS are. */
  email: { expected: number; settled: number; allInMs: number | null; perSecond: number | null };
  /** SMS and WhatsApp deliveries sent on a later attempt, failed or not sent: waiting for a turn is not failing. */
  notFirstTime: number;
  processes: ProcSummary[];
}

/** What the rate part delivered: the paced senders' messages and the emails beside them. */
export const rateDeliveries = (rate: RateResult): number =>
  rate.senders.reduce((sum, s) => sum + s.received, 0) + rate.email.settled;

/** The workers of the rate part: the configured rates, on senders of this run only. */
export function rateWorkers(settings: BenchSettings): WorkerSpec {
  const digits = () => String(randomInt(0, 10_000_000)).padStart(7, '0');
  return {
    count: Math.max(MIN_WORKERS, settings.workers),
    env: {
      SMS_SENDS_PER_SECOND: String(settings.smsRate),
      WHATSAPP_SENDS_PER_SECOND: String(settings.whatsappRate),
      TWILIO_SMS_FROM: `+1500${digits()}`,
      TWILIO_WHATSAPP_FROM: `whatsapp:+1415${digits()}`,
    },
  };
}

export const rateEvents = (settings: BenchSettings): number => Math.ceil(settings.smsRate * settings.rateSeconds);

/** What the part takes at most when all goes well: restart, the SMS at the rate (margin included), reading back. */
export const rateReserveMs = (settings: BenchSettings): number => 20_000 + settings.rateSeconds * 1_200 + 10_000;

/** `reserveMs`: what the run needs after this part (its teardown); the wait for the last sends leaves it that. */
export async function runRate(ctx: GatewayContext, spec: WorkerSpec, reserveMs: number): Promise<RateResult> {
  const { deployment: d, settings, progress, budget } = ctx;
  const restartMs = await ensureRateWorkers(ctx, spec);
  const count = rateEvents(settings);
  // Twice what the slower sender needs at its rate, spaced as the worker spaces them (the margin included).
  const needMs = Math.max(
    ...[settings.smsRate, settings.whatsappRate].map(
      (r) => count * Math.ceil((1_000 + d.config.SEND_RATE_MARGIN_MS) / r),
    ),
  );
  const capMs = budget.allow(2 * needMs + 10_000, reserveMs, 15_000);
  const procFrom = d.sampler.now();
  progress(
    `rate: ${count} booking confirmations at once (email, SMS, WhatsApp, websocket each), ${spec.count} workers`,
  );
  const { eventIds, publishedAt } = await publishBurst(ctx, count);
  const { settled, emailAllInMs, waitedMs } = await waitForBurst(ctx, eventIds, publishedAt, capMs);

  const limits = [
    { channel: 'sms' as const, sender: spec.env.TWILIO_SMS_FROM!, perSecond: settings.smsRate },
    { channel: 'whatsapp' as const, sender: spec.env.TWILIO_WHATSAPP_FROM!, perSecond: settings.whatsappRate },
  ];
  const times = await receiveTimesBySender(
    d.env.TWILIO_API_BASE_URL!,
    limits.map((l) => l.sender),
  );
  const senders = limits.map((limit) => senderFigures(limit, times.get(limit.sender) ?? [], count, publishedAt));
  const notFirstTime = await notSentFirstTime(d.pool, eventIds, ['sms', 'whatsapp']);
  const result: RateResult = {
    workers: spec.count,
    events: count,
    marginMs: d.config.SEND_RATE_MARGIN_MS,
    workerEnv: spec.env,
    capMs,
    waitedMs,
    restartMs,
    senders,
    email: {
      expected: count,
      settled: settled.email,
      allInMs: emailAllInMs,
      perSecond: emailAllInMs === null ? null : round((count / emailAllInMs) * 1000),
    },
    notFirstTime,
    processes: d.sampler.summary(procFrom, d.sampler.now()),
  };
  sayResult(progress, result);
  return result;
}

function sayResult(progress: GatewayContext['progress'], r: RateResult): void {
  for (const s of r.senders)
    progress(
      `rate: ${s.channel} ${s.received}/${s.expected}, busiest second ${s.busiestSecond} (rate ${s.perSecond}), mean ${s.meanPerSecond ?? '–'}/s over ${s.spanMs ?? '–'} ms`,
    );
  progress(
    `rate: every email in after ${r.email.allInMs ?? `more than ${r.waitedMs}`} ms; ${r.notFirstTime} SMS/WhatsApp not sent first time`,
  );
}

/** Restarts the workers with the rates unless they started with them; the ms it took, or null. */
async function ensureRateWorkers({ deployment: d, settings, progress }: GatewayContext, spec: WorkerSpec) {
  if (d.workerSpec() === spec) return null;
  const started = performance.now();
  progress(
    `rate: restarting the workers as ${spec.count}, SMS at ${settings.smsRate}/s, WhatsApp at ${settings.whatsappRate}/s`,
  );
  // On emptied topics: what an earlier part left unread would go out from these senders too, and be counted.
  const purge = async () => {
    await purgeBacklog(d.admin, d.prefix);
  };
  await d.restartWorkers(progress, purge, spec);
  return Math.round(performance.now() - started);
}

/** One booking confirmation for each of `count` new travellers, published at once, as a sale's burst would come. */
async function publishBurst({ deployment: d }: GatewayContext, count: number) {
  const travellers = makeTravellers(`${d.runId}R`, count);
  await seedUsers(d.pool, fieldCipherOf(d.config), travellers);
  const factory = createEventFactory(`${d.runId}R`, travellers);
  const publishedAt = Date.now();
  const stamp = new Date(publishedAt).toISOString();
  const events = travellers.map((t) => ({ ...factory.confirmation(t, stamp), eventId: randomUUID() }));
  await d.producer.publishMany(events);
  return { eventIds: events.map((e) => e.eventId), publishedAt };
}

/** Until the ledger has every email, SMS and WhatsApp of the burst settled, or the cap; and when email was all in. */
async function waitForBurst(
  { deployment: d, progress }: GatewayContext,
  eventIds: string[],
  publishedAt: number,
  capMs: number,
) {
  const count = eventIds.length;
  const since = () => Date.now() - publishedAt;
  let settled = await settledForEvents(d.pool, eventIds);
  let emailAllInMs: number | null = null;
  // Four times a second: the email time is good to a quarter second; the SMS and WhatsApp times are the sandbox's.
  const sampling = every(250, async () => {
    settled = await settledForEvents(d.pool, eventIds);
    if (emailAllInMs === null && settled.email >= count) emailAllInMs = since();
  });
  const say = every(5_000, () =>
    progress(
      `rate: t=${Math.round(since() / 1000)}s settled email ${settled.email}, sms ${settled.sms}, whatsapp ${settled.whatsapp} of ${count}`,
    ),
  );
  try {
    while (since() < capMs && !(['email', 'sms', 'whatsapp'] as const).every((c) => settled[c] >= count))
      await sleep(100);
  } finally {
    await say.stop();
    await sampling.stop();
  }
  // The cast: TypeScript does not see the sampler's assignment and would take it for null still.
  return { settled, emailAllInMs: emailAllInMs as number | null, waitedMs: since() };
}

function senderFigures(
  limit: Pick<SenderFigures, 'channel' | 'sender' | 'perSecond'>,
  times: number[],
  expected: number,
  publishedAt: number,
): SenderFigures {
  const spanMs = times.length > 1 ? times.at(-1)! - times[0]! : null;
  const busiest = busiestSecond(times);
  const gaps = Float64Array.from(times.slice(1).map((t, i) => t - times[i]!)).sort();
  return {
    ...limit,
    expected,
    received: times.length,
    busiestSecond: busiest,
    meanPerSecond: spanMs ? round((times.length / spanMs) * 1000) : null,
    spanMs,
    lastMs: times.length ? times.at(-1)! - publishedAt : null,
    gapMs: gaps.length ? { min: gaps[0]!, p50: percentile(gaps, 50), p99: percentile(gaps, 99) } : null,
    held: busiest <= limit.perSecond,
  };
}
