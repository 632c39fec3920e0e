/**
 * The fanout: one TRAIN_DELAY for a train with BENCH_FANOUT (5,000) active itineraries, every traveller's socket
 * connected. Timed from publish until every socket has the alert, until every SMS is settled in the ledger (Twilio's
 * answer recorded), and until every channel is; a gateway too slow for the cap is reported with its partial counts.
 */
import { randomUUID } from 'node:crypto';
import { CHANNELS, type Channel } from '../../../src/events/index.js';
import type { GatewayContext } from './context.js';
import type { LagSample } from './lag.js';
import { percentile } from './latency.js';
import { settledForEvent, zeroCounts, type ChannelCounts } from './ledger.js';
import type { ProcSummary } from './proc-stats.js';
import { addItineraries } from './travellers.js';
import { every, sleep } from './timing.js';

export interface FanoutResult {
  travellers: number;
  /** Worker processes that shared the disruption. */
  workers: number;
  socketsConnected: number;
  connectMs: number;
  capMs: number;
  /** ms from publish until the last socket had its alert; null when not all did within the cap. */
  socketsMs: number | null;
  socketsReceived: number;
  socketP50Ms: number;
  socketP99Ms: number;
  smsMs: number | null;
  /** Per channel: ms until every delivery of the event was settled, null if not within the cap. */
  channelMs: Record<Channel, number | null>;
  allChannelsMs: number | null;
  settled: ChannelCounts;
  waitedMs: number;
  lagSamples: LagSample[];
  processes: ProcSummary[];
}

/** `trainTag` names the run's own train, so a second run's itineraries are not the first's. */
export async function runFanout(ctx: GatewayContext, capMs: number, trainTag = 'F'): Promise<FanoutResult> {
  const { deployment, sockets, progress, settings } = ctx;
  const travellers = ctx.population.slice(0, settings.fanoutTravellers);
  const train = `${trainTag}${deployment.runId}`;
  await addItineraries(deployment.pool, travellers, train);
  progress(`fanout: connecting ${travellers.length} sockets…`);
  const connection = await sockets.connect(travellers, { batch: 250, timeoutMs: 30_000 });
  progress(
    `fanout: ${connection.connected}/${travellers.length} sockets connected in ${connection.ms} ms (${connection.failed} failed); publishing one TRAIN_DELAY for ${train}`,
  );

  const eventId = randomUUID();
  const receivedAt = new Map<number, number>();
  sockets.onAlert((traveller, alert, at) => {
    if (alert.eventId === eventId && !receivedAt.has(traveller.index)) receivedAt.set(traveller.index, at);
  });
  const lagSamples: LagSample[] = [];
  const procFrom = deployment.sampler.now();
  const channelMs = Object.fromEntries(CHANNELS.map((c) => [c, null])) as Record<Channel, number | null>;
  let settled = zeroCounts();
  let socketsMs: number | null = null;
  const publishedAt = Date.now();
  const since = () => Date.now() - publishedAt;
  // Twice a second: the ledger times below are good to half a second; the sockets' are exact.
  const sampling = every(
    500,
    async () => {
      const t = since();
      const [counts, lag] = await Promise.all([settledForEvent(deployment.pool, eventId), deployment.lag.read()]);
      settled = counts;
      lagSamples.push({ t, lag });
      for (const c of CHANNELS) if (channelMs[c] === null && counts[c] >= travellers.length) channelMs[c] = t;
    },
    (error) => progress(`fanout: sampling failed: ${String(error)}`),
  );
  const say = every(5_000, () =>
    progress(
      `fanout: t=${Math.round(since() / 1000)}s sockets ${receivedAt.size}/${connection.connected}, settled ${CHANNELS.map((c) => `${c} ${settled[c]}`).join(', ')}`,
    ),
  );

  try {
    await deployment.producer.publish({
      eventId,
      eventType: 'TRAVEL_DISRUPTION',
      eventTimestamp: new Date(publishedAt).toISOString(),
      disruptionType: 'TRAIN_DELAY',
      trainNumber: train,
      payload: { minutes: 90, reason: 'signal failure' },
    });
    const deadline = publishedAt + capMs;
    while (Date.now() < deadline) {
      if (socketsMs === null && receivedAt.size >= connection.connected)
        socketsMs = Math.max(...receivedAt.values()) - publishedAt;
      if (socketsMs !== null && CHANNELS.every((c) => channelMs[c] !== null)) break;
      await sleep(100);
    }
  } finally {
    await say.stop();
    await sampling.stop();
    sockets.onAlert(() => {});
  }
  const waitedMs = since();
  const latencies = Float64Array.from([...receivedAt.values()].map((at) => at - publishedAt)).sort();
  const allChannelsMs = CHANNELS.every((c) => channelMs[c] !== null)
    ? Math.max(...CHANNELS.map((c) => channelMs[c]!))
    : null;
  const result: FanoutResult = {
    travellers: travellers.length,
    workers: deployment.workers().length,
    socketsConnected: connection.connected,
    connectMs: connection.ms,
    capMs,
    socketsMs,
    socketsReceived: receivedAt.size,
    socketP50Ms: Math.round(percentile(latencies, 50)),
    socketP99Ms: Math.round(percentile(latencies, 99)),
    smsMs: channelMs.sms,
    channelMs,
    allChannelsMs,
    settled: await settledForEvent(deployment.pool, eventId),
    waitedMs,
    lagSamples,
    processes: deployment.sampler.summary(procFrom, deployment.sampler.now()),
  };
  const ms = (value: number | null) =>
    value === null ? `not done after ${Math.round(waitedMs / 1000)} s` : `${value} ms`;
  progress(`fanout: sockets ${ms(socketsMs)}, sms ${ms(result.smsMs)}, all channels ${ms(allChannelsMs)}`);
  return result;
}
