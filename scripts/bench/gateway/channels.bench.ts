/**
 * Each channel alone: per channel, the workers restarted on emptied topics as a deployment dedicates workers to one
 * channel (WORKER_CHANNELS=<channel>), and booking confirmations for the sustained travellers (sockets connected) kept
 * a little ahead of the deliveries: only that channel's group consumes them, so it alone is loaded. After a warm-up
 * (the worker has just started cold), deliveries/s and every process's CPU are taken over the same window; then a
 * short drain, and a check that the deliveries reached the far side (smtp-sink's acceptance, the sandbox, the sockets).
 */
import { CHANNELS, type Channel } from '../../../src/events/index.js';
import type { GatewayContext } from './context.js';
import type { WorkerSpec } from './deployment.js';
import { purgeBacklog } from './kafka-resources.js';
import { createLedgerCounter, ledgerBaseline, statusBreakdown } from './ledger.js';
import { runBoundedLoad, type BoundedLoadResult } from './bounded.load.js';
import { createEventFactory } from './mix.js';
import type { ProcSummary } from './proc-stats.js';
import { receiveTimesBySender } from './sandbox-times.js';
import type { BenchSettings } from './settings.js';
import type { Traveller } from './travellers.js';
import { errorText, every, round, sleep } from './timing.js';

/** Seconds of load before the measured window: a freshly started worker compiles and connects as it goes. */
export const CHANNEL_WARMUP_S = 3;
const DRAIN_CAP_MS = 15_000;
/** Statuses that mean the provider took the message (the ledger's own words). */
const HANDED_OVER = ['queued', 'sent', 'delivered'];

export interface ChannelAloneResult {
  channel: Channel;
  workers: number;
  /** Killing the workers, emptying the topics, and the new ones joining their group. */
  restartMs: number;
  load: BoundedLoadResult;
  /** The measured window (after the warm-up), between the two ledger counts that bound it. */
  windowMs: number;
  windowSettled: number;
  /** Deliveries settled per second over the measured window. */
  perSecond: number;
  /** Every delivery of the phase, settled by the end of the drain; `drained` when that is all it published. */
  settled: number;
  drain: { drained: boolean; ms: number; unsettled: number };
  statuses: Record<string, number>;
  /** What the far side confirms, of the deliveries the phase made. */
  reached: { count: number; of: number; how: string };
  /** Over the measured window: what the cost per delivery divides. */
  processes: ProcSummary[];
}

export interface ChannelsResult {
  workers: number;
  warmupS: number;
  seconds: number;
  sockets: number;
  phases: ChannelAloneResult[];
  /** Channels left out because the run's budget had no room for them. */
  skipped: Channel[];
  errors: Partial<Record<Channel, string>>;
}

/** The workers of one channel's phase: the run's count, delivering that channel only. */
export const channelWorkers = (settings: BenchSettings, channel: Channel): WorkerSpec => ({
  count: settings.workers,
  env: {},
  channels: [channel],
});

/** One channel's phase when all goes well: restart, warm-up and window, drain. */
export const channelPhaseMs = (settings: BenchSettings): number =>
  10_000 + (CHANNEL_WARMUP_S + settings.channelSeconds) * 1000 + 5_000;
/** The whole part: connecting the sockets, then a phase per channel. */
export const channelsReserveMs = (settings: BenchSettings): number =>
  10_000 + CHANNELS.length * channelPhaseMs(settings);

/** `reserveMs`: what the run needs after this part; a channel that would eat into it is skipped. */
export async function runChannels(ctx: GatewayContext, reserveMs: number): Promise<ChannelsResult> {
  const { settings, sockets, progress, budget } = ctx;
  const travellers = ctx.population.slice(0, settings.users);
  const connected = await sockets.connect(travellers);
  progress(`channels: ${connected.connected}/${travellers.length} sockets connected in ${connected.ms} ms`);
  const result: ChannelsResult = {
    workers: settings.workers,
    warmupS: CHANNEL_WARMUP_S,
    seconds: settings.channelSeconds,
    sockets: connected.connected,
    phases: [],
    skipped: [],
    errors: {},
  };
  for (const [i, channel] of CHANNELS.entries()) {
    if (budget.remainingMs() - reserveMs < channelPhaseMs(settings)) {
      progress(`channels: ${channel} skipped, the run's budget has no room for it`);
      result.skipped.push(channel);
      continue;
    }
    try {
      result.phases.push(await runChannelAlone(ctx, channel, travellers, `${ctx.deployment.runId}C${i}`));
    } catch (error) {
      result.errors[channel] = errorText(error);
      progress(`channels: ${channel} FAILED: ${errorText(error)}`);
    }
  }
  return result;
}

async function runChannelAlone(
  ctx: GatewayContext,
  channel: Channel,
  travellers: Traveller[],
  pnrTag: string,
): Promise<ChannelAloneResult> {
  const { deployment: d, settings, sockets, progress } = ctx;
  const restartStarted = performance.now();
  const spec = channelWorkers(settings, channel);
  const current = d.workerSpec();
  // A run of this part alone starts its workers as the first channel's, on new topics: nothing to restart then.
  if (current.count !== spec.count || current.channels?.join() !== channel) {
    progress(`channels: ${channel} alone, restarting ${spec.count} worker(s) as WORKER_CHANNELS=${channel}`);
    await d.restartWorkers(progress, async () => void (await purgeBacklog(d.admin, d.prefix)), spec);
  }
  const restartMs = Math.round(performance.now() - restartStarted);

  const ledger = createLedgerCounter(d.pool, await ledgerBaseline(d.pool));
  let latest = { at: performance.now(), settled: 0 };
  const polling = every(250, async () => {
    const counts = await ledger.poll();
    latest = { at: performance.now(), settled: counts[channel] };
  });
  const eventIds = new Set<string>();
  let alerts = 0;
  sockets.onAlert((_t, alert) => void (typeof alert.eventId === 'string' && eventIds.has(alert.eventId) && alerts++));
  const phaseStart = new Date();
  try {
    const marks: Array<{ at: number; settled: number; proc: number }> = [];
    const mark = () => marks.push({ ...latest, proc: d.sampler.now() });
    const warmEnd = sleep(CHANNEL_WARMUP_S * 1000).then(mark);
    const load = await runBoundedLoad({
      producer: d.producer,
      factory: createEventFactory(pnrTag, travellers),
      travellers,
      seconds: CHANNEL_WARMUP_S + settings.channelSeconds,
      settled: () => latest.settled,
      onEvent: (eventId) => void eventIds.add(eventId),
    });
    await warmEnd;
    mark();
    const [from, to] = marks as [(typeof marks)[0], (typeof marks)[0]];
    const windowMs = Math.round(to.at - from.at);
    const windowSettled = to.settled - from.settled;
    const drain = await drainPhase(() => latest.settled, load.published);
    const statuses = (await statusBreakdown(d.pool, 'created_at >= $1', [phaseStart]))[channel] ?? {};
    const result: ChannelAloneResult = {
      channel,
      workers: settings.workers,
      restartMs,
      load,
      windowMs,
      windowSettled,
      perSecond: round(windowSettled / (windowMs / 1000)),
      settled: latest.settled,
      drain,
      statuses,
      reached: await reachedFarSide(ctx, channel, { statuses, alerts, made: latest.settled, since: +phaseStart }),
      processes: d.sampler.summary(from.proc, to.proc),
    };
    progress(
      `channels: ${channel} alone ${result.perSecond}/s over ${(windowMs / 1000).toFixed(1)} s; published ${load.published}, ` +
        `settled ${result.settled}${drain.drained ? '' : ` (${drain.unsettled} not after ${drain.ms} ms)`}; ` +
        `reached ${result.reached.count}/${result.reached.of} (${result.reached.how})`,
    );
    return result;
  } finally {
    await polling.stop();
    sockets.onAlert(() => {});
  }
}

/** Until the channel has settled every delivery published, or the cap: the lead was ~2 s of work. */
async function drainPhase(settled: () => number, published: number) {
  const started = performance.now();
  while (settled() < published && performance.now() - started < DRAIN_CAP_MS) await sleep(250);
  return {
    drained: settled() >= published,
    ms: Math.round(performance.now() - started),
    unsettled: Math.max(0, published - settled()),
  };
}

/**
 * Email: accepted by smtp-sink (the ledger's `sent` is nodemailer's 250); SMS and WhatsApp: the messages the sandbox
 * holds from the sender since the phase began (it keeps the newest 5,000); websocket: alerts the sockets received.
 */
async function reachedFarSide(
  { deployment: d }: GatewayContext,
  channel: Channel,
  seen: { statuses: Record<string, number>; alerts: number; made: number; since: number },
): Promise<ChannelAloneResult['reached']> {
  const of = seen.made;
  if (channel === 'websocket') return { count: seen.alerts, of, how: 'alerts received by the sockets' };
  if (channel === 'email')
    return { count: seen.statuses.sent ?? 0, of, how: `accepted by ${d.smtp.kind} (ledger 'sent')` };
  const sender = channel === 'sms' ? d.config.TWILIO_SMS_FROM : d.config.TWILIO_WHATSAPP_FROM;
  const times = (await receiveTimesBySender(d.env.TWILIO_API_BASE_URL!, [sender])).get(sender) ?? [];
  return { count: times.filter((t) => t >= seen.since).length, of, how: 'messages in the sandbox (newest 5,000 kept)' };
}

/** Handed to the provider, from the statuses of a phase. */
export const handedOver = (statuses: Record<string, number>): number =>
  HANDED_OVER.reduce((sum, s) => sum + (statuses[s] ?? 0), 0);
