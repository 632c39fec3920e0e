/**
 * Publish-to-socket latency. The bench remembers when it published each event (its eventTimestamp) and how many
 * sockets should get it; a socket's Date.now() at receipt minus that is one sample. An alert that never came is
 * counted at "at least until the end of observation", so a slow gateway shows a lower bound, not a flattering p99
 * over the few alerts that did arrive.
 */

export interface LatencySummary {
  expected: number;
  received: number;
  /** Alerts for events the bench did not publish in this phase (an earlier phase's stragglers), ignored. */
  foreign: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** True where the percentile falls on alerts that had not arrived: the real figure is at least this. */
  lowerBound: { p50: boolean; p99: boolean; p999: boolean };
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function createLatencyRecorder() {
  const events = new Map<string, { at: number; expected: number; received: number }>();
  const seen = new Set<string>();
  const samples: number[] = [];
  let foreign = 0;

  return {
    /** `at` is Date.now() when the event was handed to the producer; `sockets` the connected recipients. */
    expect(eventId: string, at: number, sockets: number): void {
      if (sockets > 0) events.set(eventId, { at, expected: sockets, received: 0 });
    },
    receive(eventId: string, recipient: number, receivedAt: number): void {
      const event = events.get(eventId);
      if (!event) return void (foreign += 1);
      const key = `${eventId}:${recipient}`;
      if (seen.has(key)) return; // a copy (after a reconnect) is not a second delivery
      seen.add(key);
      event.received += 1;
      samples.push(receivedAt - event.at);
    },
    expectedCount: () => [...events.values()].reduce((n, e) => n + e.expected, 0),
    receivedCount: () => samples.length,

    summarize(observedUntil: number): LatencySummary {
      const censored: number[] = [];
      let firstCensored = Infinity;
      for (const e of events.values()) {
        for (let i = e.received; i < e.expected; i += 1) censored.push(observedUntil - e.at);
        if (e.received < e.expected) firstCensored = Math.min(firstCensored, observedUntil - e.at);
      }
      const all = Float64Array.from([...samples, ...censored]).sort();
      const at = (p: number) => percentile(all, p);
      const lb = (value: number) => value >= firstCensored;
      return {
        expected: all.length,
        received: samples.length,
        foreign,
        p50Ms: Math.round(at(50)),
        p99Ms: Math.round(at(99)),
        p999Ms: Math.round(at(99.9)),
        maxMs: Math.round(all.length ? all[all.length - 1]! : NaN),
        lowerBound: { p50: lb(at(50)), p99: lb(at(99)), p999: lb(at(99.9)) },
      };
    },
  };
}

export type LatencyRecorder = ReturnType<typeof createLatencyRecorder>;
