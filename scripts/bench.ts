/**
 * `npm run bench [-- <part...>]`: one run, within BENCH_BUDGET_S (460 s), of the named parts (all by default):
 *   raw      what each library reaches on this machine on its own (the ceilings)
 *   gateway  the sustained mix end to end through the gateway's own processes, then websocket latency at half the
 *            delivery rate it reached
 *   fanout   one train delay to 5,000 travellers with sockets
 *   ingest   POST /events while the workers deliver
 *   channels each channel alone (workers with WORKER_CHANNELS=<channel>) against its raw limit, with the CPU every
 *            process spends per delivery; without `raw`, the three limits it needs are measured first
 *   rate     SMS and WhatsApp send rates per sender held across two workers, email not held up by them
 * Progress goes to stderr; the table to stdout; the whole run to bench/results/<ISO timestamp>.json.
 */
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runGatewayParts, type GatewayPart } from './bench/gateway/run.js';
import { readSettings } from './bench/gateway/settings.js';
import { Budget, errorText } from './bench/gateway/timing.js';
import { runChannelRawLimits, runRawLimits } from './bench/raw/index.js';
import { totalOf } from './bench/gateway/ledger.js';
import type { ProcSummary } from './bench/gateway/proc-stats.js';
import { rateDeliveries } from './bench/gateway/rate.bench.js';
import { buildFigures, renderProcesses, renderTable, writeJson, type RunOutcome } from './bench/report.js';
import { deliveriesCovered } from './bench/channels.figures.js';

const PARTS = ['raw', 'gateway', 'fanout', 'ingest', 'channels', 'rate'] as const;
type Part = (typeof PARTS)[number];

function chosenParts(): Part[] {
  const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = names.filter((n) => !(PARTS as readonly string[]).includes(n));
  if (unknown.length) {
    console.error(`unknown part ${unknown.join(', ')}; parts: ${PARTS.join(', ')}`);
    process.exit(2);
  }
  // Always in the order above: the raw ceilings first, on a machine the gateway has not loaded yet; the rate part last,
  // as it restarts the workers with send rates the others must not have.
  return names.length ? PARTS.filter((p) => names.includes(p)) : [...PARTS];
}

async function main(): Promise<void> {
  const parts = chosenParts();
  const settings = readSettings();
  const budget = new Budget(settings.budgetS * 1000);
  const progress = (line: string) =>
    process.stderr.write(`[bench ${(budget.elapsedMs() / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
  const run: RunOutcome = {
    startedAt: new Date().toISOString(),
    wallMs: 0,
    parts,
    settings,
    resets: [],
    processes: [],
    processSeries: {},
    errors: {},
    cleanupErrors: [],
  };
  progress(`parts: ${parts.join(', ')}; settings ${JSON.stringify(settings)}`);

  // The channels part is held to the raw limits of the same run: alone, it measures the three it needs.
  const rawNeeded = parts.includes('raw') || parts.includes('channels');
  if (rawNeeded) {
    const started = performance.now();
    try {
      run.raw = parts.includes('raw') ? await runRawLimits(progress) : await runChannelRawLimits(progress);
    } catch (error) {
      run.errors.raw = errorText(error);
      progress(`raw: FAILED: ${errorText(error)}`);
    }
    progress(`raw: done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  const gatewayParts = parts.filter((p): p is GatewayPart => p !== 'raw');
  if (gatewayParts.length) await runGatewayParts(gatewayParts, settings, budget, progress, run);

  run.wallMs = Math.round(budget.elapsedMs());
  const figures = buildFigures(run);
  const file = writeJson(run, figures);
  console.log(
    `\nbench ${run.startedAt}: ${parts.join(', ')} in ${(run.wallMs / 1000).toFixed(0)} s` +
      (run.deployment
        ? `; gateway as ${settings.workers} worker + ${settings.apiProcesses} api processes (sockets and ingest spread over the apis), email to ${String(run.deployment.smtp)}` +
          (run.rate ? `; the rate part on ${run.rate.workers} workers` : '')
        : ''),
  );
  console.log(renderTable(figures));
  const show = (title: string, processes: ProcSummary[], units: number, unit = 'delivery') =>
    console.log(`\n${renderProcesses(title, processes, { units, unit })}`);
  if (run.sustained)
    show('processes during the sustained mix', run.sustained.processes, totalOf(run.sustained.settled));
  if (run.wsHalfRate)
    show(
      'processes during the websocket phase at half rate',
      run.wsHalfRate.processes,
      totalOf(run.wsHalfRate.settled),
    );
  if (run.fanout) show('processes during the fanout', run.fanout.processes, totalOf(run.fanout.settled));
  if (run.ingest)
    show('processes during ingest', run.ingest.processes, run.ingest.acceptedPerSecond * run.ingest.seconds, 'event');
  for (const phase of run.channels?.phases ?? [])
    show(`processes during ${phase.channel} alone, measured window`, phase.processes, deliveriesCovered(phase));
  if (run.rate) show('processes during the rate part', run.rate.processes, rateDeliveries(run.rate));
  console.log(`\nwritten ${file}`);
}

/**
 * `tsx scripts/bench.ts` kills its child with SIGKILL when the child does not acknowledge a Ctrl-C within 30 ms, and
 * a bench holding thousands of sockets on two busy cores often cannot: the teardown would never run. So this process
 * only launches the run in a plain node process (same process group: the terminal's SIGINT reaches it directly) and
 * waits for it, its own event loop idle and quick to answer.
 */
function launch(): void {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_RUNNER: '1' },
  });
  // The run has its own handlers; a SIGTERM sent to this process alone is passed on, a group's SIGINT already arrived.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1)));
}

if (process.env.BENCH_RUNNER === '1') {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
} else launch();
