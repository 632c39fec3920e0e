/**
 * The gateway parts of one run — sustained mix (and, when that is not at 1,000 events/s, a websocket latency phase
 * at that rate; then one at half the rate the mix reached), fanout, ingest, each channel alone, send rates — on one
 * deployment started once. A part that fails is recorded and the next one runs; the deployment is torn down in
 * `finally`, and on Ctrl-C too.
 */
import type { RunOutcome } from '../report.js';
import { benchIngest } from '../ingest.bench.js';
import { resetIfBacklogged, type GatewayContext } from './context.js';
import { startDeployment, type Deployment } from './deployment.js';
import { channelWorkers, channelsReserveMs, runChannels } from './channels.bench.js';
import { runFanout } from './fanout.bench.js';
import { purgeBacklog } from './kafka-resources.js';
import { DELIVERIES_PER_EVENT, mixFor, mixForEvents } from './mix.js';
import { rateReserveMs, rateWorkers, runRate } from './rate.bench.js';
import type { BenchSettings } from './settings.js';
import { runSustained, type SustainedResult } from './sustained.bench.js';
import { createSocketFleet, makeTravellers, seedUsers } from './travellers.js';
import { errorText, type Budget, type Progress } from './timing.js';
import { fieldCipherOf } from '../../../src/util/field-cipher.js';
import { CHANNELS } from '../../../src/events/index.js';

export type GatewayPart = 'gateway' | 'fanout' | 'ingest' | 'channels' | 'rate';
const WS_PHASE_EVENTS_PER_SEC = 1000;

/** What the parts still to come need at the least, so that an earlier wait leaves it to them. */
function reserveMs(settings: BenchSettings, later: Set<string>, wsSeparate: boolean): number {
  let ms = 20_000; // teardown
  if (later.has('ws')) ms += wsSeparate ? settings.wsPhaseSeconds * 1000 + 20_000 : 0;
  if (later.has('wsHalf')) ms += 15_000 + settings.wsPhaseSeconds * 1000 + 20_000; // reset, phase, drain
  if (later.has('channels')) ms += channelsReserveMs(settings);
  if (later.has('fanout')) ms += 15_000 + 10_000 + 25_000; // reset, connecting sockets, a useful wait
  if (later.has('fanout') && settings.workers === 1) ms += 20_000 + 25_000; // restarting as two workers, a useful wait
  if (later.has('ingest')) ms += (settings.ingestSeconds + 3) * 1000 + 5_000;
  if (later.has('rate')) ms += rateReserveMs(settings);
  return ms;
}

export async function runGatewayParts(
  parts: GatewayPart[],
  settings: BenchSettings,
  budget: Budget,
  progress: Progress,
  run: RunOutcome,
): Promise<void> {
  // The rate part's workers have send rates, which the other parts' must not: it runs last and restarts them with
  // the rates, unless it runs alone and they can start so. The channels part alone starts them as its first channel's.
  const rateSpec = rateWorkers(settings);
  const alone = parts.length === 1 ? parts[0] : undefined;
  const firstWorkers =
    alone === 'rate' ? rateSpec : alone === 'channels' ? channelWorkers(settings, CHANNELS[0]) : undefined;
  let deployment: Deployment;
  try {
    deployment = await startDeployment(settings, progress, firstWorkers);
  } catch (error) {
    for (const part of parts) run.errors[part] = `the gateway did not start: ${errorText(error)}`;
    return;
  }
  const d = deployment;
  const sockets = createSocketFleet(d.apiUrls, d.config.JWT_SECRET);
  let closing: Promise<string[]> | undefined;
  const close = () =>
    (closing ??= (async () => {
      sockets.close();
      run.processes = d.sampler.summary();
      run.processSeries = d.sampler.series();
      return d.close();
    })());
  // `on`, not `once`, and SIGTERM as well: npm and tsx pass a Ctrl-C on (repeated, or as SIGTERM), and a signal with
  // no listener left would end the process in the middle of its teardown.
  let interrupted = false;
  const onInterrupt = () => {
    if (interrupted) return;
    interrupted = true;
    progress('interrupted: tearing the gateway down…');
    void close()
      .then((errors) => errors.length && progress(`teardown problems: ${errors.join('; ')}`))
      .finally(() => process.exit(130));
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, onInterrupt);
  run.deployment = {
    prefix: d.prefix,
    smtp: d.smtp.kind,
    apiProcesses: d.apiUrls.length,
    workers: d.workerSpec().count,
    env: d.env,
  };

  const attempt = async (part: string, body: () => Promise<void>) => {
    try {
      await body();
    } catch (error) {
      run.errors[part] = errorText(error);
      progress(`${part}: FAILED: ${errorText(error)}`);
    }
  };
  try {
    const size = parts.includes('fanout') ? Math.max(settings.users, settings.fanoutTravellers) : settings.users;
    const population = makeTravellers(d.runId, size);
    await seedUsers(d.pool, fieldCipherOf(d.config), population);
    const ctx: GatewayContext = { deployment: d, settings, population, sockets, progress, budget };
    const later = new Set<string>(parts);
    const mix = mixFor(settings.rate, settings.users);
    const wsSeparate = Math.abs(mix.eventsPerSec - WS_PHASE_EVENTS_PER_SEC) > 0.1 * WS_PHASE_EVENTS_PER_SEC;
    const reset = async (before: string) => {
      const report = await resetIfBacklogged(ctx);
      if (report) run.resets.push({ before, ...report });
    };

    if (parts.includes('gateway')) {
      later.delete('gateway');
      if (wsSeparate) later.add('ws');
      later.add('wsHalf');
      await attempt('gateway', async () => {
        const drainCapMs = budget.allow(settings.drainCapS * 1000, reserveMs(settings, later, wsSeparate), 5_000);
        run.sustained = await runSustained(ctx, {
          label: 'gateway',
          mix,
          seconds: settings.seconds,
          trainTag: 'S',
          drainCapMs,
        });
        if (!wsSeparate) run.wsPhase = run.sustained;
      });
      if (wsSeparate) {
        later.delete('ws');
        await attempt('ws-latency', async () => {
          await reset('ws-latency');
          const wsMix = mixForEvents(WS_PHASE_EVENTS_PER_SEC, settings.users);
          const drainCapMs = budget.allow(20_000, reserveMs(settings, later, wsSeparate), 5_000);
          run.wsPhase = await runSustained(ctx, {
            label: 'ws-latency',
            mix: wsMix,
            seconds: settings.wsPhaseSeconds,
            trainTag: 'W',
            drainCapMs,
          });
        });
      }
      later.delete('wsHalf');
      await attempt('ws-half-rate', async () => {
        await reset('ws-half-rate');
        const drainCapMs = budget.allow(20_000, reserveMs(settings, later, wsSeparate), 5_000);
        run.wsHalfRate = await runHalfRate(ctx, run.sustained, drainCapMs);
      });
    }
    if (parts.includes('fanout')) {
      later.delete('fanout');
      await attempt('fanout', async () => {
        await reset('fanout');
        run.fanout = await runFanout(
          ctx,
          budget.allow(settings.fanoutCapS * 1000, reserveMs(settings, later, wsSeparate), 10_000),
        );
      });
      // The same disruption on a train of its own, shared by two workers: what a second worker buys.
      if (settings.workers === 1) {
        await attempt('fanout, 2 workers', async () => {
          const purge = async () => {
            await purgeBacklog(d.admin, d.prefix);
          };
          await d.restartWorkers(progress, purge, { count: 2, env: {} });
          run.fanoutTwoWorkers = await runFanout(
            ctx,
            budget.allow(settings.fanoutCapS * 1000, reserveMs(settings, later, wsSeparate), 10_000),
            'G',
          );
        });
      }
    }
    if (parts.includes('ingest')) {
      later.delete('ingest');
      await attempt('ingest', async () => {
        run.ingest = await benchIngest(
          d,
          { seconds: settings.ingestSeconds, connections: settings.ingestConnections },
          progress,
        );
      });
    }
    if (parts.includes('channels')) {
      later.delete('channels');
      await attempt('channels', async () => {
        run.channels = await runChannels(ctx, reserveMs(settings, later, wsSeparate));
        for (const [channel, error] of Object.entries(run.channels.errors)) run.errors[`channels ${channel}`] = error;
      });
    }
    if (parts.includes('rate')) {
      await attempt('rate', async () => {
        run.rate = await runRate(ctx, rateSpec, reserveMs(settings, new Set(), wsSeparate));
      });
    }
  } catch (error) {
    run.errors.gateway ??= errorText(error);
  } finally {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, onInterrupt);
    const started = performance.now();
    progress('gateway: tearing down (processes, topics, groups, queues, database)…');
    run.cleanupErrors.push(...(await close()));
    progress(
      `gateway: torn down in ${((performance.now() - started) / 1000).toFixed(1)} s${run.cleanupErrors.length ? `; problems: ${run.cleanupErrors.join('; ')}` : ''}`,
    );
  }
}

/**
 * Websocket latency at half the delivery rate the sustained mix reached (converted to events/s as mixForEvents
 * does): a load the gateway keeps up with, so the latency is its own and not a backlog's.
 */
async function runHalfRate(
  ctx: GatewayContext,
  sustained: SustainedResult | undefined,
  drainCapMs: number,
): Promise<SustainedResult> {
  if (!sustained) throw new Error('the sustained mix gave no rate to halve');
  const eventsPerSec = sustained.perSecond.total / 2 / DELIVERIES_PER_EVENT;
  return runSustained(ctx, {
    label: 'ws-half-rate',
    mix: mixForEvents(eventsPerSec, ctx.settings.users),
    seconds: ctx.settings.wsPhaseSeconds,
    trainTag: 'H',
    drainCapMs,
  });
}
