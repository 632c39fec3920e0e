/**
 * Socket.IO emit → receipt through Redis, 1,000 clients. Open loop in rising steps: each step emits at a fixed rate
 * to random rooms for STEP_MS, each alert carrying its send time; a step "keeps up" when ≥ 95% of what it sent
 * arrived by GRACE_MS after it ended and p99 of receipt − send stayed under 100 ms. We stop at the first step that
 * does not, and report the last one that did (alerts received/s and its p99). Open loop rather than closed because
 * that is how alerts come: the worker does not wait for browsers. Emitter, server and clients share this process
 * (and so a core): the figure is a floor for what the server alone could do.
 */
import { errorText, percentile, sleep, stackConfig } from './shared.js';
import { startAlertRig, type AlertRig } from './socketio-rig.js';

const CLIENTS = 1_000;
const WARMUP = { rate: 1_000, ms: 1_000 };
const STEPS_PER_SEC = [2_000, 5_000, 10_000, 15_000, 20_000];
const STEP_MS = 2_000;
const GRACE_MS = 300;
const KEPT_UP = { receivedShare: 0.95, p99Ms: 100 };
/** Emits are issued every TICK_MS, as many as the rate owes by then: a steady rate without a timer per alert. */
const TICK_MS = 5;

/** Shaped like the gateway's alert (toAlert of an inbox row): ~300 B of JSON beside the send time. */
const ALERT = {
  title: 'Flight 6E2131 delayed by 90 minutes',
  body: 'Your flight 6E2131 to Goa (GOX) on 20 Dec is delayed by 90 minutes: fog at Delhi airport. Gate 42B.',
  severity: 'warning',
  eventId: 'c4e8a1f7-2d6b-4e3c-9f05-7a1b3c5d7e92',
  eventType: 'TRAVEL_DISRUPTION',
  createdAt: '2026-12-01T04:45:00.000Z',
};

const now = () => performance.timeOrigin + performance.now();

interface StepResult {
  rate: number;
  sent: number;
  received: number;
  receivedPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

/** Emits at `rate`/s for `ms`, then waits GRACE_MS for the last to arrive. */
async function runStep(
  rig: AlertRig,
  step: number,
  rate: number,
  ms: number,
  latencies: number[][],
): Promise<StepResult> {
  const samples: number[] = (latencies[step] = []);
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < ms) {
    const owed = Math.floor((rate * (performance.now() - start)) / 1000);
    for (; sent < owed; sent++)
      rig.emit(Math.floor(Math.random() * rig.clientCount), { ...ALERT, id: sent, step, t: now() });
    await sleep(TICK_MS);
  }
  await sleep(GRACE_MS);
  return {
    rate,
    sent,
    received: samples.length,
    receivedPerSec: samples.length / (ms / 1000),
    p50Ms: percentile(samples, 50),
    p99Ms: percentile(samples, 99),
  };
}

const keptUp = (r: StepResult) => r.received >= KEPT_UP.receivedShare * r.sent && r.p99Ms < KEPT_UP.p99Ms;
const describe = (r: StepResult) =>
  `${r.rate}/s: ${r.received} of ${r.sent} received (${Math.round(r.receivedPerSec)}/s), p50 ${r.p50Ms.toFixed(1)} p99 ${r.p99Ms.toFixed(1)} ms`;

export async function measureSocketIoEmit(
  progress: (line: string) => void,
): Promise<{ perSec: number; p99Ms: number }> {
  const started = performance.now();
  const rig = await startAlertRig(CLIENTS, stackConfig().REDIS_URL);
  try {
    progress(`socket.io: ${CLIENTS} clients connected in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    // latencies[step] holds that step's samples; a straggler of an earlier step still lands in its own.
    const latencies: number[][] = [];
    rig.onAlert((payload) => latencies[payload.step]?.push(now() - payload.t));
    await runStep(rig, 0, WARMUP.rate, WARMUP.ms, latencies);
    let best: StepResult | undefined;
    for (const [i, rate] of STEPS_PER_SEC.entries()) {
      const result = await runStep(rig, i + 1, rate, STEP_MS, latencies);
      progress(`socket.io: step ${describe(result)}${keptUp(result) ? '' : ' → did not keep up'}`);
      if (!keptUp(result)) {
        // Not even the lowest step kept up: its figures are still the best this setup managed.
        best ??= result;
        break;
      }
      best = result;
    }
    const redisError = rig.redisError();
    if (redisError) throw new Error(`redis failed during the run: ${redisError.message}`);
    return { perSec: best!.receivedPerSec, p99Ms: best!.p99Ms };
  } finally {
    await rig.close().catch((error) => progress(`socket.io: cleanup failed: ${errorText(error)}`));
  }
}
