/** What the raw measurements share: a silent logger, the stack's addresses, unique names and a closed-loop driver. */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';

/** The libraries' own logging would only cost time and clutter the orchestrator's output. */
export const silentLogger = createLogger({ level: 'silent', name: 'bench-raw' });

/** The same addresses the gateway would use on this machine (environment first, then the defaults). */
export const stackConfig = () => loadConfig(process.env);

/** `bench.raw.<hex>`-style names: never shared with another run, so cleanup can never touch anything else. */
export const uniqueSuffix = () => randomBytes(4).toString('hex');

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface ClosedLoopOptions {
  /** Operations kept in flight at once. */
  concurrency: number;
  /** Run but not counted: JIT, connection set-up, pools filling. */
  warmupMs: number;
  durationMs: number;
  /** One operation; resolves with how many units it did (rows, messages), 1 when it returns nothing. */
  op: (index: number) => Promise<number | void>;
  /** Told when operations failed: the rate is then not a clean one, and the reader should know. */
  progress?: (line: string) => void;
  label?: string;
}

/** How long operations still in flight at the window's end are waited for before they are abandoned. */
const DRAIN_MS = 5_000;

/**
 * Keeps `concurrency` operations in flight for warm-up + duration and returns units/s completed inside the measured
 * window. Closed loop on purpose: each slot issues its next operation only when the last one ended, so the rate is
 * what the far side sustains, not what we push. Fails with the first error when nothing at all succeeded; a server
 * that stops answering cannot hold it past the window by more than DRAIN_MS.
 */
export async function closedLoop({
  concurrency,
  warmupMs,
  durationMs,
  op,
  progress,
  label = 'operations',
}: ClosedLoopOptions): Promise<number> {
  const windowStart = performance.now() + warmupMs;
  const windowEnd = windowStart + durationMs;
  let counted = 0;
  let succeeded = 0;
  let failed = 0;
  let firstError: unknown;
  let index = 0;
  const slot = async () => {
    while (performance.now() < windowEnd) {
      try {
        const units = (await op(index++)) ?? 1;
        succeeded++;
        const now = performance.now();
        if (now >= windowStart && now <= windowEnd) counted += units;
      } catch (error) {
        failed++;
        firstError ??= error;
        // A server that refuses everything would otherwise spin this loop flat out.
        await sleep(5);
      }
    }
  };
  const slots = Promise.all(Array.from({ length: concurrency }, slot));
  await withTimeout(slots, warmupMs + durationMs + DRAIN_MS, label).catch(() =>
    progress?.(`${label}: still in flight ${DRAIN_MS} ms after the window, abandoned`),
  );
  if (succeeded === 0) throw firstError ?? new Error(`${label}: none completed`);
  if (failed > 0) progress?.(`${label}: ${failed} of ${failed + succeeded} failed (first: ${errorText(firstError)})`);
  return counted / (durationMs / 1000);
}

/** Rejects after `ms` with `what` in the message: every wait in the raw bench is bounded. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The p-th percentile (0–100) of unsorted samples; NaN when there are none. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = Float64Array.from(samples).sort();
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
