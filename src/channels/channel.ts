import type { Channel, EventType } from '../events/index.js';
import type { DeliveryFailureCode } from '../errors/codes.js';
import { GatewayError } from '../errors/gateway-error.js';

/** One message for one person on one channel, rendered and addressed. */
export interface OutboundMessage {
  channel: Channel;
  /** Email address, E.164 phone number, or userId for the websocket. */
  to: string;
  userId: string;
  eventId: string;
  eventType: EventType;
  /** `<eventId>:<channel>:<userId>`: providers that support it get it too, so they can drop duplicates. */
  idempotencyKey: string;
  subject?: string;
  text: string;
  html?: string;
  /** The websocket's JSON payload. */
  payload?: Record<string, unknown>;
}

/** What the provider said: its id for the message and how far it got. */
export interface SendResult {
  providerId: string;
  status: 'sent' | 'queued' | 'delivered';
}

/**
 * A failed send, classified where the provider's answer is understood: `retriable` means the same message may succeed
 * later (timeout, 5xx, rate limit); otherwise retrying is pointless (invalid address, refused content).
 * `providerWide`: the provider refused us, not the message (credentials, account): every message would fail alike, so
 * the channel pauses with its records kept, instead of each one using up its retries.
 * `ambiguous`: the request left and no answer came (a timeout, a connection dropped mid-request): the provider may have
 * taken the message and may still be working on it, so a look-up made at once can miss the copy it is about to store.
 */
export class DeliveryError extends GatewayError<DeliveryFailureCode> {
  readonly providerWide: boolean;
  readonly ambiguous: boolean;

  constructor(
    message: string,
    code: DeliveryFailureCode,
    retriable: boolean,
    options?: { cause?: unknown; providerWide?: boolean; ambiguous?: boolean },
  ) {
    super(message, { code, retriable, ...(options && 'cause' in options && { cause: options.cause }) });
    this.name = 'DeliveryError';
    this.providerWide = options?.providerWide ?? false;
    this.ambiguous = options?.ambiguous ?? false;
  }
}

/** Why a claimed message is no longer to be sent, found just before its send: what the ledger records instead. */
export interface Withdrawal {
  status: 'expired' | 'superseded' | 'skipped';
  code: 'EXPIRED' | 'SUPERSEDED' | 'OPTED_OUT' | 'ERASED';
  message: string;
}

/** A send stopped before the provider was called: not a failure, nothing to retry; the ledger records why. */
export class SendWithdrawnError extends GatewayError<Withdrawal['code']> {
  constructor(readonly withdrawal: Withdrawal) {
    super(`not sent: ${withdrawal.message}`, { code: withdrawal.code, retriable: false });
    this.name = 'SendWithdrawnError';
  }
}

/**
 * A send given up before it reached the provider, because its consumer is handing its records on (a rebalance began,
 * or the worker stops): certainly unsent, so its claim is released and its record left unsettled for the next owner.
 */
export class SendHandedOverError extends DeliveryError {
  constructor() {
    super('given up unsent while waiting for a connection: the records are being handed on', 'SEND_HANDED_OVER', true);
    this.name = 'SendHandedOverError';
  }
}

export interface SendOptions {
  /**
   * Awaited once, just before the provider is called, after any wait for the sender's turn (a wait may last minutes,
   * in which the notice expires, is replaced, or its person opts out or is erased): a throw stops the send unsent.
   * The wrapper that waits calls it (the send rate); otherwise the breaker's guard does, outside the breaker.
   */
  beforeSend?: () => Promise<void>;
  /**
   * Aborted when the consumer hands its records on. A send still waiting for a connection (see connection-gate.ts)
   * then fails with SendHandedOverError; one already on a connection finishes.
   */
  signal?: AbortSignal;
}

/** One adapter per channel; the client behind it is built once and closed with the adapter. */
export interface ChannelAdapter {
  readonly channel: Channel;
  send(message: OutboundMessage, options?: SendOptions): Promise<SendResult>;
  /**
   * Asks the provider whether it already has this message (sent since `since`): used before re-sending a delivery
   * taken over from a process that died mid-send. Absent where the provider cannot be asked (a plain SMTP relay).
   */
  findSent?(message: OutboundMessage, since: Date): Promise<SendResult | undefined>;
  close(): Promise<void>;
}

/**
 * Whether the provider already has this message, sent since `since` (the delivery's first claim). Asking costs less
 * than a duplicate.
 * An adapter that cannot be asked means unknown, and the caller sends. A question that fails (the provider's list
 * timed out under load, say) is a transient failure: the delivery is tried again later, and asks again first, rather
 * than sending what may already be out.
 */
export async function findAtProvider(
  adapter: ChannelAdapter,
  message: OutboundMessage,
  since: Date,
): Promise<SendResult | undefined> {
  if (!adapter.findSent) return undefined;
  return adapter.findSent(message, since).catch((error: unknown) => {
    throw asLookupFailure(error);
  });
}

/**
 * A failed question to the provider, as a transient failure; one already classified (an open breaker) as it is.
 * Raised inside the breaker too, so a provider that cannot be asked counts towards opening it.
 */
export function asLookupFailure(error: unknown): DeliveryError {
  if (error instanceof DeliveryError) return error;
  return new DeliveryError(
    `could not ask the provider whether it has the message: ${(error as Error)?.message ?? String(error)}`,
    'PROVIDER_LOOKUP_FAILED',
    true,
    { cause: error },
  );
}
