import CircuitBreaker from 'opossum';
import pLimit, { type LimitFunction } from 'p-limit';
import { WebhookUnreachableError } from './status-poster.js';

export interface ReceiverLanesOptions {
  /** Posts in flight to one receiver. */
  perReceiver: number;
  /** Notices one receiver may hold in this process (in flight and waiting for its turn); more are deferred. */
  heldPerReceiver: number;
  /** How long an open breaker waits before letting one trial post through. */
  resetMs: number;
}

/** The receiver has its share of this process's notices in hand already, or its breaker is open: tried later. */
export class ReceiverBusyError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ReceiverBusyError';
  }
}

interface Lane {
  limit: LimitFunction;
  breaker: CircuitBreaker<[() => Promise<void>], void>;
}

/**
 * One lane per receiver (webhook): its own concurrency, and its own breaker, which opens when its posts go
 * unanswered (timeouts, refused connections; a receiver that answers, even with an error, is not slow). A receiver
 * that hangs then holds only its own lane: its notices wait or are deferred, everyone else's go on.
 */
export function createReceiverLanes({ perReceiver, heldPerReceiver, resetMs }: ReceiverLanesOptions) {
  const lanes = new Map<number, Lane>();

  function laneOf(webhookId: number): Lane {
    let lane = lanes.get(webhookId);
    if (!lane) {
      lane = {
        limit: pLimit(perReceiver),
        breaker: new CircuitBreaker((post: () => Promise<void>) => post(), {
          name: `webhook-${webhookId}`,
          timeout: false, // each post has its own deadline (WEBHOOK_TIMEOUT_MS)
          resetTimeout: resetMs,
          errorThresholdPercentage: 50,
          volumeThreshold: 2,
          rollingCountTimeout: 60_000,
          // Counted: posts the receiver did not answer. Not counted (true): its answers, and refused addresses.
          errorFilter: (error: unknown) => !(error instanceof WebhookUnreachableError),
        }),
      };
      lanes.set(webhookId, lane);
    }
    return lane;
  }

  return {
    /** Runs `post` in the receiver's lane; rejects with ReceiverBusyError when the lane is full or its breaker open. */
    async post(webhookId: number, post: () => Promise<void>): Promise<void> {
      const { limit, breaker } = laneOf(webhookId);
      if (breaker.opened) throw new ReceiverBusyError('the receiver is not answering (its breaker is open)');
      if (limit.activeCount + limit.pendingCount >= heldPerReceiver)
        throw new ReceiverBusyError('the receiver has its share of notices in flight');
      return limit(() =>
        breaker.fire(post).catch((error: unknown) => {
          if (CircuitBreaker.isOurError(error as Error))
            throw new ReceiverBusyError('the receiver is not answering (its breaker is open)');
          throw error;
        }),
      );
    },
    /** Forgets a receiver whose webhook was removed. */
    forget(webhookId: number): void {
      lanes.get(webhookId)?.breaker.shutdown();
      lanes.delete(webhookId);
    },
    close(): void {
      for (const { breaker } of lanes.values()) breaker.shutdown();
      lanes.clear();
    },
  };
}

export type ReceiverLanes = ReturnType<typeof createReceiverLanes>;
