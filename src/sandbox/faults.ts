import { z } from 'zod';
import { addressMatches } from './address.js';
import { REQUEST_ERROR_MESSAGES, TwilioApiError } from './twilio-errors.js';

/**
 * Failures a test switches on to see how the gateway copes with Twilio misbehaving: refused requests (rate limit,
 * outage), slow answers, and messages Twilio accepts but the carrier never delivers.
 */
const failNextSchema = z.strictObject({
  count: z.number().int().min(1).default(1),
  code: z.number().int().min(10000).max(99999),
  /** Defaults to the HTTP status a 20xxx code names (20429 → 429), else 400. */
  status: z.number().int().min(400).max(599).optional(),
  /** Only requests to this address fail; a bare number covers its SMS and WhatsApp addresses. */
  to: z.string().min(1).optional(),
  message: z.string().min(1).optional(),
});

const undeliverableSchema = z.strictObject({
  to: z.string().min(1),
  code: z.number().int().min(30000).max(63999).default(30003),
  /** `undelivered`: the carrier took it and lost it (after `sent`); `failed`: it never left Twilio. */
  status: z.enum(['undelivered', 'failed']).default('undelivered'),
});

export const faultsSchema = z.strictObject({
  failNext: failNextSchema.optional(),
  latencyMs: z.number().int().min(0).max(60_000).optional(),
  /** How late the answer to a list of messages leaves, after the list was read: a slow look-up. */
  listLatencyMs: z.number().int().min(0).max(60_000).optional(),
  undeliverable: undeliverableSchema.optional(),
  /** Status callbacks are not posted at all: Twilio's to a receiver that timed out are lost, and never retried. */
  dropCallbacks: z.boolean().optional(),
});

export type FaultsInput = z.input<typeof faultsSchema>;
export type Undeliverable = z.output<typeof undeliverableSchema>;
type FailRule = Omit<z.output<typeof failNextSchema>, 'count'> & { remaining: number };

export interface Faults {
  /** Adds to what is switched on: failures queue up, latency is replaced, undeliverable is set per address. */
  set(input: FaultsInput): void;
  clear(): void;
  /** The error the next create to `to` must fail with, consuming it; undefined when none is armed. */
  takeFailure(to: string | undefined): TwilioApiError | undefined;
  latencyMs(): number;
  listLatencyMs(): number;
  dropsCallbacks(): boolean;
  undeliverableFor(to: string): Undeliverable | undefined;
  snapshot(): {
    failNext: FailRule[];
    latencyMs: number;
    listLatencyMs: number;
    undeliverable: Undeliverable[];
    dropCallbacks: boolean;
  };
}

export function createFaults(): Faults {
  let failRules: FailRule[] = [];
  let latency = 0;
  let listLatency = 0;
  let undeliverable: Undeliverable[] = [];
  let dropCallbacks = false;
  return {
    set(input) {
      const parsed = faultsSchema.parse(input);
      if (parsed.failNext) {
        const { count, ...rule } = parsed.failNext;
        failRules.push({ ...rule, remaining: count });
      }
      if (parsed.latencyMs !== undefined) latency = parsed.latencyMs;
      if (parsed.listLatencyMs !== undefined) listLatency = parsed.listLatencyMs;
      if (parsed.dropCallbacks !== undefined) dropCallbacks = parsed.dropCallbacks;
      if (parsed.undeliverable) {
        const rule = parsed.undeliverable;
        undeliverable = [...undeliverable.filter((u) => u.to !== rule.to), rule];
      }
    },
    clear() {
      failRules = [];
      latency = 0;
      listLatency = 0;
      undeliverable = [];
      dropCallbacks = false;
    },
    takeFailure(to) {
      const rule = failRules.find((r) => r.to === undefined || (to !== undefined && addressMatches(r.to, to)));
      if (!rule) return undefined;
      rule.remaining -= 1;
      if (rule.remaining === 0) failRules = failRules.filter((r) => r !== rule);
      return failureError(rule);
    },
    latencyMs: () => latency,
    listLatencyMs: () => listLatency,
    dropsCallbacks: () => dropCallbacks,
    undeliverableFor: (to) => undeliverable.find((u) => addressMatches(u.to, to)),
    snapshot: () => ({
      failNext: failRules.map((r) => ({ ...r })),
      latencyMs: latency,
      listLatencyMs: listLatency,
      undeliverable: [...undeliverable],
      dropCallbacks,
    }),
  };
}

function failureError(rule: FailRule): TwilioApiError {
  const implied = rule.code >= 20400 && rule.code < 20600 ? rule.code - 20000 : 400;
  const message = rule.message ?? REQUEST_ERROR_MESSAGES[rule.code] ?? `Sandbox fault ${rule.code}`;
  return new TwilioApiError(rule.status ?? implied, rule.code, message);
}
