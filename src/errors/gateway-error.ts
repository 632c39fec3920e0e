import type { GatewayErrorCode } from './codes.js';

export interface GatewayErrorOptions<C extends GatewayErrorCode> {
  /** What went wrong, from the one list in codes.ts: stored, answered or matched on, never parsed out of `message`. */
  code: C;
  /** Whether the same operation may succeed later (timeout, rate limit, a server away) or will fail alike every time. */
  retriable: boolean;
  /** The error this one explains; kept for the logs, never shown to a client. */
  cause?: unknown;
}

/**
 * The base of the gateway's own errors, as KafkaJS's errors carry `retriable` and BullMQ's a code: whoever catches one
 * decides from `code` and `retriable` alone (retry, dead-letter, answer), without knowing which module threw it.
 */
export class GatewayError<C extends GatewayErrorCode = GatewayErrorCode> extends Error {
  readonly code: C;
  readonly retriable: boolean;

  constructor(message: string, options: GatewayErrorOptions<C>) {
    // Only a cause that was given: `{ cause: undefined }` would still install an own `cause` property.
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.name = 'GatewayError';
    this.code = options.code;
    this.retriable = options.retriable;
  }
}
