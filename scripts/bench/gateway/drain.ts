/**
 * After publishing stops: how long until every channel group has read everything and every expected delivery is
 * settled in the ledger. Bounded twice: by the cap the run's budget allows, and by arithmetic — once the recent rate
 * says the backlog needs far longer than the cap, waiting out the cap would only burn the next parts' time.
 */
import type { Deployment } from './deployment.js';
import { channelLag } from './lag.js';
import { totalOf, type ChannelCounts, type createLedgerCounter } from './ledger.js';
import { sleep, type Progress } from './timing.js';

export interface DrainResult {
  drained: boolean;
  /** Time from the end of publishing until drained, or until the wait ended. */
  ms: number;
  capMs: number;
  lagAtEnd: Record<string, number>;
  /** Expected deliveries not settled when the wait ended. */
  unsettled: number;
  /** Set when the wait was cut short: the time the backlog would have needed at the rate seen. */
  projectedMs?: number;
}

const MIN_WAIT_MS = 10_000;

export async function waitForDrain({
  deployment,
  ledger,
  expected,
  capMs,
  progress,
}: {
  deployment: Deployment;
  ledger: ReturnType<typeof createLedgerCounter>;
  expected: ChannelCounts;
  capMs: number;
  progress: Progress;
}): Promise<DrainResult> {
  const started = performance.now();
  const want = totalOf(expected);
  const history: Array<{ at: number; settled: number }> = [];
  let lag: Record<string, number> = {};
  let settled = 0;
  for (;;) {
    [lag, { settled }] = await Promise.all([
      deployment.lag.read(),
      ledger.poll().then((c) => ({ settled: totalOf(c) })),
    ]);
    const now = performance.now();
    const ms = Math.round(now - started);
    if (channelLag(lag) === 0 && settled >= want) {
      progress(`drained in ${(ms / 1000).toFixed(1)} s`);
      return { drained: true, ms, capMs, lagAtEnd: lag, unsettled: 0 };
    }
    history.push({ at: now, settled });
    const left = want - settled;
    const past = history.find((h) => now - h.at <= 5_000) ?? history[0]!;
    const rate = (settled - past.settled) / Math.max(0.001, (now - past.at) / 1000);
    // Only commits outstanding (every delivery settled) is never hopeless; no progress at all is.
    const projectedMs = left <= 0 ? 0 : rate > 0 ? Math.round((left / rate) * 1000) : Infinity;
    const hopeless = ms >= MIN_WAIT_MS && projectedMs > 2 * (capMs - ms);
    if (ms >= capMs || hopeless) {
      const why =
        hopeless && left > 0 && Number.isFinite(projectedMs)
          ? ` (at ${Math.round(rate)}/s that needs ~${Math.round(projectedMs / 1000)} s more; stopped waiting)`
          : '';
      progress(
        `not drained after ${(ms / 1000).toFixed(0)} s: ${Math.max(0, left)} expected deliveries unsettled, channel lag ${channelLag(lag)}${why}`,
      );
      return {
        drained: false,
        ms,
        capMs,
        lagAtEnd: lag,
        unsettled: Math.max(0, left),
        ...(Number.isFinite(projectedMs) && { projectedMs }),
      };
    }
    await sleep(Math.min(500, capMs - ms));
  }
}
