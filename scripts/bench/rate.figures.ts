/**
 * The rate part in the report: per sender, its busiest second at the sandbox against its configured rate, the rate
 * it reached and how many it sent; email against the SMS's time; and the sends that waited into a failure.
 */
import { fmt, type Figure } from './figure.js';
import type { RateResult, SenderFigures } from './gateway/rate.bench.js';

function senderRows(s: SenderFigures, workers: number): Figure[] {
  return [
    {
      name: `rate ${s.channel} @ ${s.perSecond}/s, ${workers} workers: busiest second at the sandbox`,
      value: s.busiestSecond,
      unit: '/s',
      goal: `≤ ${s.perSecond}`,
      met: s.held,
    },
    {
      name: `  ${s.channel} mean rate, first to last (${s.spanMs === null ? '–' : fmt(s.spanMs / 1000)} s)`,
      value: s.meanPerSecond,
      unit: '/s',
    },
    {
      name: `  ${s.channel} sent (received at the sandbox)`,
      value: s.received,
      unit: '',
      goal: `= ${fmt(s.expected)}`,
      met: s.received === s.expected,
    },
  ];
}

export function rateFigures(r: RateResult): Figure[] {
  const smsLastMs = r.senders.find((s) => s.channel === 'sms')?.lastMs ?? null;
  // The SMS sender's queue must hold nothing else up: every email out while most SMS still wait their turn.
  const emailGoalMs = smsLastMs === null ? null : smsLastMs / 2;
  return [
    ...r.senders.flatMap((s) => senderRows(s, r.workers)),
    {
      name: `rate email (no rate): all ${fmt(r.email.expected)} in, from publishing`,
      value: r.email.allInMs,
      unit: 'ms',
      goal: `≤ ½ SMS time (${fmt(emailGoalMs)} ms)`,
      met: r.email.allInMs !== null && emailGoalMs !== null && r.email.allInMs <= emailGoalMs,
      ...(r.email.allInMs === null && {
        text: `not all in after ${fmt(r.waitedMs / 1000)} s (${fmt(r.email.settled)}/${fmt(r.email.expected)})`,
      }),
    },
    { name: '  email delivered/s', value: r.email.perSecond, unit: '/s' },
    {
      name: 'rate: SMS + WhatsApp not sent at the first attempt',
      value: r.notFirstTime,
      unit: '',
      goal: '= 0',
      met: r.notFirstTime === 0,
    },
  ];
}

/** The headline figures of the rate part in the JSON (the whole result follows under `rate`). */
export function rateJson(r: RateResult) {
  const bySender = Object.fromEntries(
    r.senders.map((s) => [
      s.channel,
      {
        rate: s.perSecond,
        busiestSecond: s.busiestSecond,
        meanPerSecond: s.meanPerSecond,
        spanMs: s.spanMs,
        sent: s.received,
        expected: s.expected,
        held: s.held,
      },
    ]),
  );
  return { workers: r.workers, ...bySender, email: { allInMs: r.email.allInMs, perSecond: r.email.perSecond } };
}
