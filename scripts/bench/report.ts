/**
 * The run's report: one row per figure (value, goal, raw limit, ratio, met) printed as a table, and the whole run
 * as JSON in bench/results/<ISO timestamp>.json, with the headline numbers at the top level.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChannelsResult } from './gateway/channels.bench.js';
import type { FanoutResult } from './gateway/fanout.bench.js';
import { totalOf } from './gateway/ledger.js';
import type { ProcSummary } from './gateway/proc-stats.js';
import type { RateResult } from './gateway/rate.bench.js';
import type { BenchSettings } from './gateway/settings.js';
import type { SustainedResult } from './gateway/sustained.bench.js';
import type { IngestResult } from './ingest.bench.js';
import type { RawLimits } from './raw/index.js';
import { fmt, type Figure } from './figure.js';
import { rateFigures, rateJson } from './rate.figures.js';
import { channelsFigures, channelsJson } from './channels.figures.js';

export interface RunOutcome {
  startedAt: string;
  wallMs: number;
  parts: string[];
  settings: BenchSettings;
  /** Every raw limit, or only the channels' when the channels part runs without the raw part. */
  raw?: Partial<RawLimits>;
  sustained?: SustainedResult;
  /** The 1,000 events/s websocket phase: the sustained one itself when its rate is within 10 % of that. */
  wsPhase?: SustainedResult;
  /** The websocket phase at half the delivery rate the sustained mix reached. */
  wsHalfRate?: SustainedResult;
  /** Each channel alone against its raw limit. */
  channels?: ChannelsResult;
  fanout?: FanoutResult;
  /** The fan-out again with two workers, when the run's own has one. */
  fanoutTwoWorkers?: FanoutResult;
  ingest?: IngestResult;
  rate?: RateResult;
  deployment?: Record<string, unknown>;
  resets: Array<Record<string, unknown>>;
  processes: ProcSummary[];
  processSeries: unknown;
  errors: Record<string, string>;
  cleanupErrors: string[];
}

export type { Figure } from './figure.js';

const ratio = (value: number | null | undefined, raw: number | undefined) =>
  value !== null && value !== undefined && raw !== undefined && Number.isFinite(raw) && raw > 0
    ? Number((value / raw).toPrecision(3))
    : undefined;

function sustainedFigures(s: SustainedResult, raw: Partial<RawLimits> | undefined, target: number): Figure[] {
  const row = (name: string, value: number, rawValue?: number, extra: Partial<Figure> = {}): Figure => ({
    name,
    value,
    unit: '/s',
    raw: rawValue,
    ratio: ratio(value, rawValue),
    ...extra,
  });
  const drain = s.drain;
  return [
    row('deliveries/s sustained, total (vs kafka consume)', s.perSecond.total, raw?.kafkaConsumePerSec, {
      goal: `≥ ${target}`,
      met: s.perSecond.total >= target,
    }),
    row('  total vs PostgreSQL claim inserts', s.perSecond.total, raw?.pgClaimInsertsPerSec),
    row('  email (vs smtp-sink)', s.perSecond.email, raw?.smtpSinkPerSec, {
      goal: `offered ${fmt(s.offeredPerSecond.email)}`,
    }),
    row('  sms + whatsapp (vs twilio create)', s.perSecond.sms + s.perSecond.whatsapp, raw?.twilioCreatePerSec, {
      goal: `offered ${fmt(s.offeredPerSecond.sms + s.offeredPerSecond.whatsapp)}`,
    }),
    row('  websocket (vs socket.io emit)', s.perSecond.websocket, raw?.socketIoEmitPerSec, {
      goal: `offered ${fmt(s.offeredPerSecond.websocket)}`,
    }),
    row('deliveries/s incl. drain, total', s.perSecondInclDrain.total),
    {
      name: 'time to drain after publishing',
      value: drain.drained ? drain.ms : null,
      unit: 'ms',
      goal: `≤ cap ${fmt(drain.capMs / 1000)} s`,
      met: drain.drained,
      ...(!drain.drained && {
        text: `not drained after ${Math.round(drain.ms / 1000)} s (${fmt(drain.unsettled)} unsettled${drain.projectedMs ? `, ~${fmt(drain.projectedMs / 1000)} s more` : ''})`,
      }),
    },
  ];
}

/** The websocket goal the phase at half the sustained rate is held to. */
const WS_HALF_RATE_P99_GOAL_MS = 50;

function latencyFigures(
  s: SustainedResult,
  raw: Partial<RawLimits> | undefined,
  { note = '', goalP99Ms }: { note?: string; goalP99Ms?: number } = {},
): Figure[] {
  const l = s.latency;
  const label = `ws latency @ ${fmt(s.load.eventsPerSec)} events/s${note}`;
  const lb = (flag: boolean, v: number) =>
    flag ? { text: `≥ ${fmt(v)} ms (${fmt(l.expected - l.received)} of ${fmt(l.expected)} alerts not received)` } : {};
  return [
    { name: `${label}, p50`, value: l.p50Ms, unit: 'ms', ...lb(l.lowerBound.p50, l.p50Ms) },
    {
      name: `${label}, p99 (vs raw socket.io p99)`,
      value: l.p99Ms,
      unit: 'ms',
      raw: raw?.socketIoP99Ms,
      ratio: ratio(l.p99Ms, raw?.socketIoP99Ms),
      ...(goalP99Ms !== undefined && { goal: `≤ ${goalP99Ms}`, met: !l.lowerBound.p99 && l.p99Ms <= goalP99Ms }),
      ...lb(l.lowerBound.p99, l.p99Ms),
    },
    { name: `${label}, p99.9`, value: l.p999Ms, unit: 'ms', ...lb(l.lowerBound.p999, l.p999Ms) },
    // The sockets live in the bench's own event loop: its delay is the measurement's own share of these figures.
    { name: '  bench event-loop delay p99 (part of the above)', value: s.benchLoopDelayMs.p99, unit: 'ms' },
  ];
}

/** What a second worker buys: the two-worker fan-out's time to every channel, against one worker's. */
function fanoutScaleFigure(one: FanoutResult, two: FanoutResult): Figure {
  const value =
    one.allChannelsMs && two.allChannelsMs ? Number((two.allChannelsMs / one.allChannelsMs).toPrecision(3)) : null;
  return {
    name: `fanout ${two.travellers}: every channel done, 2 workers / 1 worker`,
    value,
    unit: '×',
    goal: '≤ 0.65',
    met: value !== null && value <= 0.65,
  };
}

function fanoutFigures(f: FanoutResult): Figure[] {
  const notDone = (got: number) =>
    `not done after ${Math.round(f.waitedMs / 1000)} s (${fmt(got)}/${fmt(f.travellers)})`;
  const timed = (name: string, ms: number | null, got: number, goalMs?: number): Figure => ({
    name,
    value: ms,
    unit: 'ms',
    ...(ms === null && { text: notDone(got) }),
    ...(goalMs !== undefined && { goal: `≤ ${fmt(goalMs)}`, met: ms !== null && ms <= goalMs }),
  });
  const label = `fanout ${f.travellers}${f.workers > 1 ? `, ${f.workers} workers` : ''}`;
  return [
    timed(`${label}: every socket has the alert`, f.socketsMs, f.socketsReceived, 2_000),
    timed(`${label}: every SMS accepted (ledger)`, f.smsMs, f.settled.sms, 10_000),
    timed('  email settled', f.channelMs.email, f.settled.email),
    timed('  whatsapp settled', f.channelMs.whatsapp, f.settled.whatsapp),
    timed('  websocket settled (inbox + emit)', f.channelMs.websocket, f.settled.websocket),
    timed(`${label}: every channel done`, f.allChannelsMs, Math.min(...Object.values(f.settled)), 12_000),
  ];
}

export function buildFigures(run: RunOutcome): Figure[] {
  const { raw, sustained, wsPhase, fanout, ingest, rate } = run;
  const figures: Figure[] = [];
  if (sustained) figures.push(...sustainedFigures(sustained, raw, run.settings.rate));
  if (wsPhase) figures.push(...latencyFigures(wsPhase, raw));
  if (run.wsHalfRate)
    figures.push(
      ...latencyFigures(run.wsHalfRate, raw, {
        note: ` (½ the sustained ${fmt(sustained?.perSecond.total)}/s)`,
        goalP99Ms: WS_HALF_RATE_P99_GOAL_MS,
      }),
    );
  if (fanout) figures.push(...fanoutFigures(fanout));
  if (run.fanoutTwoWorkers) {
    figures.push(...fanoutFigures(run.fanoutTwoWorkers));
    if (fanout) figures.push(fanoutScaleFigure(fanout, run.fanoutTwoWorkers));
  }
  if (ingest) {
    const lb = ingest.apiProcesses > 1 ? ` (${ingest.apiProcesses} api processes)` : '';
    figures.push({
      name: `ingest accepted/s${lb}`,
      value: ingest.acceptedPerSecond,
      unit: '/s',
      goal: '≥ 3000',
      met: ingest.acceptedPerSecond >= 3000,
    });
    figures.push({
      name: 'ingest p99',
      value: ingest.latencyMs.p99,
      unit: 'ms',
      goal: '< 50',
      met: ingest.latencyMs.p99 < 50,
    });
  }
  if (run.channels) figures.push(...channelsFigures(run.channels, raw));
  if (rate) figures.push(...rateFigures(rate));
  if (sustained) figures.push(...costFigures('mix', sustained.processes, totalOf(sustained.settled), true));
  if (fanout) figures.push(...costFigures('fan-out', fanout.processes, totalOf(fanout.settled), false));
  const two = run.fanoutTwoWorkers;
  if (two) figures.push(...costFigures('fan-out, 2 workers', two.processes, totalOf(two.settled), false));
  const workerRss = workerRssMb(run.processes);
  if (workerRss !== null) figures.push({ name: 'worker RSS, max (largest worker)', value: workerRss, unit: 'MB' });
  if (raw) {
    for (const [name, value] of Object.entries(raw))
      figures.push({ name: `raw ${name}`, value: value as number, unit: /Ms$/.test(name) ? 'ms' : '/s' });
  }
  for (const [part, error] of Object.entries(run.errors))
    figures.push({
      name: `${part}: FAILED`,
      value: null,
      unit: '',
      text: error.split('\n')[0]!.slice(0, 110),
      met: false,
    });
  return figures;
}

/**
 * PostgreSQL's and the workers' CPU per delivery over a part (every worker process together): the cost of a delivery
 * where it is paid, with the goals the mix is held to.
 */
function costFigures(part: string, processes: ProcSummary[], deliveries: number, withGoals: boolean): Figure[] {
  if (deliveries <= 0) return [];
  const msOf = (pick: (p: ProcSummary) => boolean) =>
    Math.round((processes.filter(pick).reduce((sum, p) => sum + p.cpuMs, 0) / deliveries) * 1000) / 1000;
  const figure = (name: string, value: number, goal: number): Figure => ({
    name: `${name} CPU per delivery (${part})`,
    value,
    unit: 'ms',
    ...(withGoals && { goal: `≤ ${goal}`, met: value <= goal }),
  });
  return [
    figure(
      'PostgreSQL',
      msOf((p) => p.name === 'postgres'),
      0.25,
    ),
    figure(
      'worker',
      msOf((p) => p.role === 'worker'),
      0.3,
    ),
  ];
}

const workerRssMb = (processes: ProcSummary[]) => {
  const workers = processes.filter((p) => p.role === 'worker');
  return workers.length ? Math.max(...workers.map((p) => p.maxRssMb)) : null;
};

export function renderTable(figures: Figure[]): string {
  const rows = [
    ['figure', 'value', 'goal', 'raw limit', 'ratio', 'met'],
    ...figures.map((f) => [
      f.name,
      f.text ?? `${fmt(f.value)} ${f.unit}`.trim(),
      f.goal ?? '',
      f.raw === undefined ? '' : fmt(f.raw),
      f.ratio === undefined ? '' : f.ratio < 100 ? String(f.ratio) : fmt(f.ratio),
      f.met === undefined ? '' : f.met ? 'met' : 'NOT met',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i === 0 || i === 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/**
 * CPU milliseconds per unit of work (a delivery, an accepted event) for each process over a part: unlike a rate, it
 * does not move with how busy the machine is. `others` (whatever else ran on the machine) is left out.
 */
export function cpuMsPer(processes: ProcSummary[], units: number): Record<string, number> {
  if (units <= 0) return {};
  return Object.fromEntries(
    processes
      .filter((p) => p.name !== 'others' && p.cpuMs > 0)
      .map((p) => [p.name, Math.round((p.cpuMs / units) * 1000) / 1000]),
  );
}

export function renderProcesses(
  title: string,
  processes: ProcSummary[],
  per?: { units: number; unit: string },
): string {
  const cost = per ? cpuMsPer(processes, per.units) : {};
  const costText = (p: ProcSummary) =>
    cost[p.name] === undefined ? '' : `  ${cost[p.name]!.toFixed(3).padStart(7)} cpu ms/${per!.unit}`;
  const line = (p: ProcSummary) =>
    `  ${p.name.padEnd(12)} ${p.role.padEnd(8)} cpu avg ${String(p.avgCpuPct).padStart(4)} %  max ${String(p.maxCpuPct).padStart(4)} %${costText(p)}${p.maxRssMb > 0 ? `  rss max ${fmt(p.maxRssMb).padStart(6)} MB` : ''}`;
  const known = processes
    .filter((p) => p.role !== 'machine' && (p.avgCpuPct > 0 || p.maxCpuPct > 0))
    .sort((a, b) => b.avgCpuPct - a.avgCpuPct);
  const rows = [...known, ...processes.filter((p) => p.role === 'machine')].map(line);
  const over = per ? `; over ${per.units} ${per.unit === 'delivery' ? 'deliveries' : `${per.unit}s`}` : '';
  return [`${title} (100 % = one core of ${os.cpus().length}${over}):`, ...rows].join('\n');
}

/** The JSON document; the headline numbers first, then everything each part measured. */
export function toJson(run: RunOutcome, figures: Figure[]) {
  const { raw, sustained: s, wsPhase: ws, wsHalfRate: half, fanout: f, ingest: i, rate: r } = run;
  const channelFigures =
    s &&
    Object.fromEntries(
      (['email', 'sms', 'whatsapp', 'websocket'] as const).map((c) => {
        const rawValue =
          c === 'email' ? raw?.smtpSinkPerSec : c === 'websocket' ? raw?.socketIoEmitPerSec : raw?.twilioCreatePerSec;
        return [
          c,
          {
            perSecond: s.perSecond[c],
            perSecondInclDrain: s.perSecondInclDrain[c],
            offeredPerSecond: s.offeredPerSecond[c],
            settled: s.settled[c],
            expected: s.expected[c],
            raw: rawValue,
            ratioToRaw: ratio(s.perSecond[c], rawValue),
          },
        ];
      }),
    );
  return {
    startedAt: run.startedAt,
    wallMs: run.wallMs,
    parts: run.parts,
    deliveriesPerSecond: s?.perSecond.total ?? null,
    deliveriesPerSecondInclDrain: s?.perSecondInclDrain.total ?? null,
    wsP99Ms: ws?.latency.p99Ms ?? null,
    wsP99IsLowerBound: ws?.latency.lowerBound.p99 ?? null,
    wsPhaseEventsPerSec: ws ? Math.round(ws.load.eventsPerSec) : null,
    wsRatioToRaw: (ws && ratio(ws.perSecond.websocket, raw?.socketIoEmitPerSec)) ?? null,
    wsP50HalfRateMs: half?.latency.p50Ms ?? null,
    wsP99HalfRateMs: half?.latency.p99Ms ?? null,
    wsP99HalfRateIsLowerBound: half?.latency.lowerBound.p99 ?? null,
    wsHalfRateEventsPerSec: half ? Math.round(half.load.eventsPerSec) : null,
    channelsAlone: run.channels ? channelsJson(run.channels, raw) : null,
    fanoutTravellers: f?.travellers ?? null,
    fanout5000SocketsMs: f?.socketsMs ?? null,
    fanout5000SmsMs: f?.smsMs ?? null,
    fanout5000AllChannelsMs: f?.allChannelsMs ?? null,
    fanoutTwoWorkersAllChannelsMs: run.fanoutTwoWorkers?.allChannelsMs ?? null,
    workerRssMb: workerRssMb(run.processes),
    ingestPerSecond: i?.acceptedPerSecond ?? null,
    ingestP99Ms: i?.latencyMs.p99 ?? null,
    sendRates: r ? rateJson(r) : null,
    raw: raw ?? null,
    channels: channelFigures ?? null,
    goals: figures
      .filter((g) => g.met !== undefined)
      .map((g) => ({ name: g.name, goal: g.goal ?? null, value: g.value, text: g.text ?? null, met: g.met })),
    figures,
    errors: run.errors,
    cleanupErrors: run.cleanupErrors,
    settings: run.settings,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? null,
      totalMemoryMb: Math.round(os.totalmem() / 2 ** 20),
      node: process.version,
      kernel: os.release(),
    },
    deployment: run.deployment ?? null,
    resets: run.resets,
    sustained: s ?? null,
    wsPhase: ws && ws !== s ? ws : ws ? 'same as sustained' : null,
    wsHalfRate: half ?? null,
    channelsAloneRuns: run.channels ?? null,
    fanout: f ?? null,
    fanoutTwoWorkers: run.fanoutTwoWorkers ?? null,
    ingest: i ?? null,
    rate: r ?? null,
    processes: { summary: run.processes, series: run.processSeries },
  };
}

const RESULTS_DIR = fileURLToPath(new URL('../../bench/results', import.meta.url));

export function writeJson(run: RunOutcome, figures: Figure[]): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${run.startedAt}.json`);
  writeFileSync(file, `${JSON.stringify(toJson(run, figures), null, 1)}\n`);
  return path.relative(process.cwd(), file);
}
