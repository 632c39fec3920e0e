/**
 * The sustained mix end to end: the mix published open-loop for BENCH_SECONDS to the gateway's own processes, the
 * ledger counted once a second per channel, lag sampled per group, every socket's alerts timed; then a bounded wait
 * for the backlog to drain. The same function runs the short 1,000 events/s websocket phase when that is separate.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CHANNELS, type Channel } from '../../../src/events/index.js';
import type { GatewayContext } from './context.js';
import { channelLag, type LagSample } from './lag.js';
import { createLatencyRecorder, type LatencySummary } from './latency.js';
import {
  createLedgerCounter,
  ledgerBaseline,
  statusBreakdown,
  totalOf,
  zeroCounts,
  type ChannelCounts,
} from './ledger.js';
import { runLoad, type LoadResult } from './load.js';
import { createEventFactory, DISRUPTION_TRAIN_COUNT, disruptionRiders, type Mix } from './mix.js';
import type { ProcSummary } from './proc-stats.js';
import { addItineraries } from './travellers.js';
import { every, round } from './timing.js';
import { waitForDrain, type DrainResult } from './drain.js';

export interface SustainedResult {
  label: string;
  mix: Mix;
  seconds: number;
  load: Omit<LoadResult, 'startedAt' | 'endedAt'>;
  socketsConnected: number;
  /** Settled deliveries/s over the publishing window, per channel and in total. */
  perSecond: Record<Channel | 'total', number>;
  /** The same from the first publish to the end of the drain wait. */
  perSecondInclDrain: Record<Channel | 'total', number>;
  /** What the published events ask for, per second of the window (the offered load). */
  offeredPerSecond: Record<Channel | 'total', number>;
  settled: ChannelCounts;
  expected: ChannelCounts;
  drain: DrainResult;
  latency: LatencySummary;
  statuses: Record<string, Record<string, number>>;
  lagSamples: LagSample[];
  ledgerSamples: Array<{ t: number } & ChannelCounts>;
  processes: ProcSummary[];
  /** The bench's own event loop (publisher and every socket share it): a late loop would add to the latency. */
  benchLoopDelayMs: { p50: number; p99: number; max: number };
}

const perSec = (counts: ChannelCounts, seconds: number) =>
  Object.fromEntries([
    ...CHANNELS.map((c) => [c, round(counts[c] / seconds)]),
    ['total', round(totalOf(counts) / seconds)],
  ]) as Record<Channel | 'total', number>;

export async function runSustained(
  ctx: GatewayContext,
  {
    label,
    mix,
    seconds,
    trainTag,
    drainCapMs,
  }: {
    label: string;
    mix: Mix;
    seconds: number;
    trainTag: string;
    drainCapMs: number;
  },
): Promise<SustainedResult> {
  const { deployment, sockets, progress, settings } = ctx;
  const travellers = ctx.population.slice(0, settings.users);
  const byUserId = new Map(travellers.map((t) => [t.userId, t]));
  const trains = Array.from({ length: DISRUPTION_TRAIN_COUNT }, (_, i) => `${trainTag}${i + 1}${deployment.runId}`);
  const riders = trains.map((_, i) => disruptionRiders(travellers, mix, i));
  await Promise.all(trains.map((train, i) => addItineraries(deployment.pool, riders[i]!, train)));
  const connected = await sockets.connect(travellers);
  progress(
    `${label}: ${connected.connected}/${travellers.length} sockets connected in ${connected.ms} ms; publishing ${round(mix.eventsPerSec)} events/s ` +
      `(${round(mix.bookingEventsPerSec)} booking-type + 1 train delay/s to ${mix.disruptionTravellers}) for ${seconds} s, target ${mix.rate} deliveries/s`,
  );

  const latency = createLatencyRecorder();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  sockets.onAlert(
    (traveller, alert, at) => typeof alert.eventId === 'string' && latency.receive(alert.eventId, traveller.index, at),
  );
  // Rows an earlier phase left (settled or not) are not this phase's deliveries.
  const ledger = createLedgerCounter(deployment.pool, await ledgerBaseline(deployment.pool));
  const lagSamples: LagSample[] = [];
  const ledgerSamples: SustainedResult['ledgerSamples'] = [];
  const t0 = performance.now();
  const phaseStart = new Date();
  const procFrom = deployment.sampler.now();
  let latest = zeroCounts();
  let latestLag: Record<string, number> = {};
  const sampling = every(
    1_000,
    async () => {
      const t = Math.round(performance.now() - t0);
      const [counts, lag] = await Promise.all([ledger.poll(), deployment.lag.read()]);
      latest = counts;
      latestLag = lag;
      ledgerSamples.push({ t, ...counts });
      lagSamples.push({ t, lag });
    },
    (error) => progress(`${label}: sampling failed: ${String(error)}`),
  );
  let lastSaid = 0;
  const say = every(5_000, () => {
    const s = (performance.now() - t0) / 1000;
    const total = totalOf(latest);
    progress(
      `${label}: t=${s.toFixed(0)}s settled ${total} (${round((total - lastSaid) / 5)}/s last 5 s), received ${latency.receivedCount()} alerts, channel lag ${channelLag(latestLag)}`,
    );
    lastSaid = total;
  });

  try {
    const factory = createEventFactory(deployment.runId, travellers);
    const load = await runLoad({
      producer: deployment.producer,
      factory,
      mix,
      seconds,
      trains,
      riders,
      onEvent(eventId, at, recipients, event) {
        const people =
          recipients === 'booking'
            ? [byUserId.get(String((event as { userId?: unknown }).userId))].filter((t) => t !== undefined)
            : recipients;
        latency.expect(eventId, at, people.filter((t) => sockets.isConnected(t)).length);
      },
    });
    const windowCounts = await ledger.poll();
    progress(
      `${label}: published ${load.published}/${load.scheduled} events (${round(load.eventsPerSec)}/s, ${load.failed} failed), ` +
        `settled ${totalOf(windowCounts)}/${totalOf(load.expected)} deliveries by the end of the window`,
    );
    const drain = await waitForDrain({
      deployment,
      ledger,
      expected: load.expected,
      capMs: drainCapMs,
      progress: (line) => progress(`${label}: ${line}`),
    });
    const settled = await ledger.poll();
    const observedUntil = Date.now();
    const totalS = (performance.now() - t0) / 1000;
    const { startedAt: _s, endedAt: _e, ...loadSummary } = load;
    return {
      label,
      mix,
      seconds,
      load: loadSummary,
      socketsConnected: connected.connected,
      perSecond: perSec(windowCounts, seconds),
      perSecondInclDrain: perSec(settled, totalS),
      offeredPerSecond: perSec(load.expected, seconds),
      settled,
      expected: load.expected,
      drain,
      latency: latency.summarize(observedUntil),
      statuses: await statusBreakdown(deployment.pool, 'created_at >= $1', [phaseStart]),
      lagSamples,
      ledgerSamples,
      processes: deployment.sampler.summary(procFrom, deployment.sampler.now()),
      benchLoopDelayMs: {
        p50: round(loopDelay.percentile(50) / 1e6),
        p99: round(loopDelay.percentile(99) / 1e6),
        max: round(loopDelay.max / 1e6),
      },
    };
  } finally {
    loopDelay.disable();
    await say.stop();
    await sampling.stop();
    sockets.onAlert(() => {});
  }
}
