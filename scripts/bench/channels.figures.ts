/**
 * The channels part in the report: per channel loaded alone, its deliveries/s against the raw limit of the library
 * it ends in (measured in the same run), held to half of it; what reached the far side; and the CPU every process
 * spent per delivery over the same window.
 */
import type { Channel } from '../../src/events/index.js';
import { fmt, type Figure } from './figure.js';
import type { ChannelAloneResult, ChannelsResult } from './gateway/channels.bench.js';
import type { ProcSummary } from './gateway/proc-stats.js';
import type { RawLimits } from './raw/index.js';

/** The goal: each channel alone reaches at least this share of its raw limit. */
export const CHANNEL_GOAL_RATIO = 0.5;

/** The raw limit each channel is held to, and its name in the report. */
export function channelRaw(channel: Channel, raw: Partial<RawLimits> | undefined): { name: string; value?: number } {
  if (channel === 'email') return { name: 'smtp-sink', value: raw?.smtpSinkPerSec };
  if (channel === 'websocket') return { name: 'socket.io emit', value: raw?.socketIoEmitPerSec };
  return { name: 'twilio create', value: raw?.twilioCreatePerSec };
}

const ratioOf = (value: number, raw: number | undefined) =>
  raw !== undefined && Number.isFinite(raw) && raw > 0 ? Number((value / raw).toPrecision(3)) : undefined;

/**
 * Deliveries the CPU figures cover: the window's rate over the time the samples span (the samples come once a second,
 * so they cover up to a second less than the window the rate was counted over).
 */
export function deliveriesCovered(phase: ChannelAloneResult): number {
  const spanMs = Math.max(0, ...phase.processes.map((p) => p.spanMs));
  return Math.round(phase.perSecond * (spanMs / 1000));
}

/** The row's text: the processes that spend a twentieth of a ms or more, the rest together, and the sum. */
function costText(named: Record<string, number>, machine: number | undefined): string {
  const entries = Object.entries(named);
  const shown = entries.filter(([, ms]) => ms >= 0.05);
  const rest = entries.filter(([, ms]) => ms < 0.05).reduce((sum, [, ms]) => sum + ms, 0);
  const total = entries.reduce((sum, [, ms]) => sum + ms, 0);
  return (
    [...shown.map(([name, ms]) => `${name} ${ms.toFixed(2)}`), ...(rest > 0 ? [`rest ${rest.toFixed(2)}`] : [])].join(
      ' + ',
    ) + ` = ${total.toFixed(2)} ms${machine === undefined ? '' : ` (machine ${machine.toFixed(2)})`}`
  );
}

/**
 * CPU ms per delivery by process, the workers together and the apis together; `machine` is every core's busy time,
 * whatever ran (so it holds what no named process accounts for).
 */
export function cpuMsPerDelivery(processes: ProcSummary[], deliveries: number): Record<string, number> {
  if (deliveries <= 0) return {};
  const sums = new Map<string, number>();
  for (const p of processes) {
    if (p.name === 'others') continue;
    const key = p.role === 'worker' || p.role === 'api' ? p.role : p.name;
    sums.set(key, (sums.get(key) ?? 0) + p.cpuMs);
  }
  return Object.fromEntries(
    [...sums]
      .map(([key, ms]) => [key, Math.round((ms / deliveries) * 1000) / 1000] as const)
      .filter(([, ms]) => ms > 0)
      .sort((a, b) => b[1] - a[1]),
  );
}

function phaseFigures(phase: ChannelAloneResult, raw: Partial<RawLimits> | undefined): Figure[] {
  const limit = channelRaw(phase.channel, raw);
  const ratio = ratioOf(phase.perSecond, limit.value);
  const cost = cpuMsPerDelivery(phase.processes, deliveriesCovered(phase));
  const { machine, ...named } = cost;
  const known = Object.values(named).reduce((a, b) => a + b, 0);
  const label = `${phase.channel} alone, ${phase.workers} worker${phase.workers > 1 ? 's' : ''}`;
  const reached = phase.reached;
  return [
    {
      name: `${label}: deliveries/s (vs ${limit.name})`,
      value: phase.perSecond,
      unit: '/s',
      raw: limit.value,
      ratio,
      goal: `≥ ${CHANNEL_GOAL_RATIO} × raw`,
      met: ratio !== undefined && ratio >= CHANNEL_GOAL_RATIO,
    },
    {
      name: `  ${phase.channel}: reached the far side (${reached.how})`,
      value: reached.count,
      unit: '',
      text: `${fmt(reached.count)} of ${fmt(reached.of)}`,
    },
    {
      name: `  ${phase.channel}: CPU ms per delivery, every process`,
      value: Math.round(known * 1000) / 1000,
      unit: 'ms',
      text: costText(named, machine),
    },
  ];
}

export function channelsFigures(c: ChannelsResult, raw: Partial<RawLimits> | undefined): Figure[] {
  return [
    ...c.phases.flatMap((phase) => phaseFigures(phase, raw)),
    ...c.skipped.map((channel) => ({
      name: `${channel} alone: skipped`,
      value: null,
      unit: '',
      text: "the run's budget had no room for it",
    })),
  ];
}

/** The headline figures of the channels part in the JSON (every phase follows in full under `channelsAloneRuns`). */
export function channelsJson(c: ChannelsResult, raw: Partial<RawLimits> | undefined) {
  return Object.fromEntries(
    c.phases.map((phase) => {
      const limit = channelRaw(phase.channel, raw);
      const ratio = ratioOf(phase.perSecond, limit.value);
      const cost = cpuMsPerDelivery(phase.processes, deliveriesCovered(phase));
      return [
        phase.channel,
        {
          perSecond: phase.perSecond,
          raw: limit.value ?? null,
          rawName: limit.name,
          ratioToRaw: ratio ?? null,
          goalRatio: CHANNEL_GOAL_RATIO,
          met: ratio !== undefined && ratio >= CHANNEL_GOAL_RATIO,
          workers: phase.workers,
          windowMs: phase.windowMs,
          reached: phase.reached,
          cpuMsPerDelivery: cost,
        },
      ];
    }),
  );
}
