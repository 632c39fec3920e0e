import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import { runChecks, type ReadinessCheck } from '../net/readiness.js';
import { describeError } from './record-faults.js';

export interface OutageGateOptions {
  /** What the worker needs to deliver (its `/readyz` checks): the gate opens again once every one answers. */
  checks: Record<string, ReadinessCheck>;
  logger: Logger;
  /** How often the checks are asked while a dependency is away. */
  intervalMs?: number;
}

/**
 * What a database, Redis or broker restart does to the consumers: the first record that meets the outage closes the
 * gate, every consumer that shares it pauses (as an open breaker pauses a channel) instead of failing its batches over
 * and over, and the gate asks the worker's readiness checks until all of them answer again, then lets every consumer
 * resume where it paused. Records are read again from the oldest one not settled, so nothing is skipped, and the
 * ledger's claims keep anything already sent from going out twice.
 */
export function createOutageGate({ checks, logger, intervalMs = 1_000 }: OutageGateOptions) {
  const log = logger.child({ component: 'outage-gate' });
  const listeners = new Set<() => void>();
  const stopping = new AbortController();
  let watching: Promise<void> | undefined;

  async function watch(): Promise<void> {
    const started = Date.now();
    while (!stopping.signal.aborted) {
      const sleptOk = await sleep(intervalMs, true, { signal: stopping.signal }).catch(() => false);
      if (!sleptOk) return;
      const results = await runChecks(checks);
      if (Object.values(results).every(Boolean)) break;
    }
    watching = undefined;
    log.warn({ pausedMs: Date.now() - started }, 'every dependency answers again; consumers resume');
    // One listener that throws must neither keep the others paused nor escape as an uncaught error.
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        log.error({ error: describeError(error) }, 'a consumer could not be resumed');
      }
    }
  }

  return {
    /** Closes the gate (once per outage), naming what was met; the caller pauses. */
    trip(error: unknown): void {
      if (watching || stopping.signal.aborted) return;
      log.warn({ error: describeError(error) }, 'a dependency is away; consumers pause until it answers');
      watching = watch();
    },
    /** While true, a paused consumer stays paused: the gate's own resume will come. */
    get closed(): boolean {
      return watching !== undefined;
    },
    /** Called each time the gate opens again after an outage. */
    onReopen(listener: () => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop(): Promise<void> {
      stopping.abort();
      await watching;
    },
  };
}

export type OutageGate = ReturnType<typeof createOutageGate>;
