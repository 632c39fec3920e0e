import pRetry, { AbortError } from 'p-retry';
import {
  DeliveryError,
  findAtProvider,
  SendHandedOverError,
  SendWithdrawnError,
  type ChannelAdapter,
  type SendResult,
} from '../channels/channel.js';
import type { Channel, GatewayEvent } from '../events/index.js';
import type { DeliveryMetrics } from '../metrics.js';
import { belowThreshold, channelEnabled, type UserProfile } from '../preferences/profile.js';
import { QUIET_CHANNELS, URGENT_EVENTS, quietUntil } from '../preferences/quiet-hours.js';
import type { Rendered, TemplateRenderer } from '../templates/renderer.js';
import { idempotencyKeyOf, type DeliveriesRepository, type DeliveryKey } from '../store/deliveries.repository.js';
import { classifyFailure, pausesChannel, type Failure } from './failures.js';
import { usefulUntil, type ExpiryGrace } from '../events/expiry.js';
import type { SendChecks } from '../store/send-checks.js';
import { addressOf } from './recipients.js';
import type { OptOuts } from './opt-outs.js';
import { createSendRecheck, expiredAfter, supersededBy } from './send-recheck.js';

/** How one recipient's delivery ended, for the consumer to act on. */
export type Outcome =
  | { kind: 'done' }
  /**
   * Worth trying later: the caller moves it to a retry topic. `claimId`: the ledger row, released; past the last
   * retry level the caller records it dead-lettered once the dead letter is written.
   */
  | { kind: 'transient'; failure: Failure; attempt: number; claimId?: string }
  /**
   * Never going to work: the caller dead-letters it, and only then records the ledger row `dead_lettered`. Until
   * then the row stays released, so a crash or a failed dead-letter write finds it again on the re-read: never lost.
   */
  | { kind: 'permanent'; failure: Failure; attempt: number; claimId?: string }
  /** The provider takes nothing now (breaker open, account refused): the caller pauses and reads this record again later. */
  | { kind: 'paused' }
  /** Another process holds the claim: the caller looks again once its lease has ended. */
  | { kind: 'held'; until: Date }
  /**
   * Given up unsent while its consumer hands its records on (see SendHandedOverError): the claim is released, and the
   * caller leaves the record unsettled for the next owner.
   */
  | { kind: 'handed-over' };

export interface DeliveryOptions {
  /** An operator's replay: may take a delivery that failed for good. */
  replay?: boolean;
  /** The eventId of a newer notice of the same journey: this one is recorded superseded, not sent. */
  supersededBy?: string;
  /** When the gateway took the event in: the last look before the send asks for a notice taken in after it. */
  ingestedAt?: Date;
  /** Aborted when the consumer hands its records on: a send not yet on a connection is given up (SendOptions). */
  signal?: AbortSignal;
}

export interface PipelineDeps {
  channel: Channel;
  adapter: ChannelAdapter;
  renderer: TemplateRenderer;
  deliveries: DeliveriesRepository;
  /** Quick retries in place before a transient failure leaves the record. */
  inPlaceRetries?: number;
  /** Phone numbers that sent STOP: no SMS or WhatsApp goes to them, whoever's booking carries them. */
  optOuts?: OptOuts;
  /** Where outcomes and latency are counted (the process's metrics). */
  metrics: DeliveryMetrics;
  /** Minutes after the departure a disruption notice is still sent; none given, notices never expire. */
  expiryGrace?: ExpiryGrace;
  /** Asked again just before each send (erased, STOP, a newer notice); none given, only expiry is looked at again. */
  sendChecks?: SendChecks;
}

/**
 * One recipient on one channel: preferences, address, quiet hours, the claim, rendering, the send (through the
 * breaker, with a few quick retries), and the ledger. The claim is taken before the provider is called and released
 * only when the send certainly failed, so no path sends the same delivery twice.
 */
export function createDeliveryPipeline({
  channel,
  adapter,
  renderer,
  deliveries,
  inPlaceRetries = 2,
  optOuts,
  metrics: { deliveryOutcomes, deliveryLatency },
  expiryGrace,
  sendChecks,
}: PipelineDeps) {
  const recheck = createSendRecheck({ ...(sendChecks && { checks: sendChecks }), ...(expiryGrace && { expiryGrace }) });
  const render = (event: GatewayEvent, profile: UserProfile): Rendered =>
    renderer.render({ eventType: event.eventType, channel, locale: profile.locale, event, recipient: profile });

  /**
   * Sends with quick retries. An attempt after a failure first asks the provider whether the failed one went through
   * after all: a retry must never be the second copy. A failure with no answer (a timeout) is not retried here: the
   * provider may still be storing the copy it took, and a look-up a moment later would miss it; the retry topic's delay
   * gives the provider that time before the next attempt asks.
   */
  async function send(
    message: Parameters<ChannelAdapter['send']>[0],
    askFirst: boolean,
    since: Date,
    beforeSend: () => Promise<void>,
    signal: AbortSignal | undefined,
  ): Promise<SendResult> {
    return pRetry(
      async (attemptNumber) => {
        try {
          const found = askFirst || attemptNumber > 1 ? await findAtProvider(adapter, message, since) : undefined;
          return found ?? (await adapter.send(message, { beforeSend, ...(signal && { signal }) }));
        } catch (error) {
          // Permanent failures, a message withdrawn or handed over and a provider that takes nothing (breaker open, account refused)
          // are not retried here: the first two are final, the last pauses. Nor is a send that got no answer (above).
          if (
            error instanceof SendWithdrawnError ||
            error instanceof SendHandedOverError ||
            pausesChannel(error) ||
            !classifyFailure(error).retriable ||
            (error instanceof DeliveryError && error.ambiguous)
          )
            throw new AbortError(error as Error);
          throw error;
        }
      },
      { retries: inPlaceRetries, minTimeout: 200, maxTimeout: 2_000, factor: 3, randomize: true },
    );
  }

  return async function deliverTo(
    event: GatewayEvent,
    profile: UserProfile,
    options: DeliveryOptions = {},
  ): Promise<Outcome> {
    const outcome = await attempt(event, profile, options);
    deliveryOutcomes.inc({ channel, outcome: outcome.kind });
    return outcome;
  };

  async function attempt(event: GatewayEvent, profile: UserProfile, options: DeliveryOptions): Promise<Outcome> {
    const replay = options.replay ?? false;
    const key: DeliveryKey = { eventId: event.eventId, eventType: event.eventType, channel, userId: profile.userId };
    if (!channelEnabled(profile, event.eventType, channel)) {
      await deliveries.markSkipped(key, {
        code: 'PREFERENCE_OFF',
        message: `${channel} is off for ${event.eventType}`,
      });
      return { kind: 'done' };
    }
    const small = belowThreshold(profile, event);
    if (small) {
      await deliveries.markSkipped(key, { code: 'BELOW_THRESHOLD', message: small });
      return { kind: 'done' };
    }
    const until = expiryGrace && usefulUntil(event, expiryGrace);
    if (until && Date.now() > until.getTime()) {
      await deliveries.markUnsent(key, { status: 'expired', message: expiredAfter(until).message });
      return { kind: 'done' };
    }
    if (options.supersededBy) {
      await deliveries.markUnsent(key, { status: 'superseded', message: supersededBy(options.supersededBy).message });
      return { kind: 'done' };
    }
    const address = addressOf(channel, profile);
    if ('skip' in address) {
      await deliveries.markSkipped(key, { code: address.skip, message: address.reason });
      return { kind: 'done' };
    }
    if (optOuts && OPT_OUT_CHANNELS.has(channel) && (await optOuts.has(address.to))) {
      await deliveries.markSkipped(key, { code: 'OPTED_OUT', message: 'the number sent STOP' });
      return { kind: 'done' };
    }
    const holdUntil = quietHoursHold(profile, event, channel);
    if (holdUntil) {
      const rendered = render(event, profile);
      const held = { recipient: address.to, body: rendered.text, deliverAfter: holdUntil };
      // A retry may find the row its earlier attempt left: it is held too, never settled as if it had been sent.
      if (await deliveries.defer(key, held)) return { kind: 'done' };
      const taken = await deliveries.claim(key, { replay });
      if (!taken.claimed) return taken.heldUntil ? { kind: 'held', until: taken.heldUntil } : { kind: 'done' };
      await deliveries.deferClaimed(taken.id, held);
      return { kind: 'done' };
    }
    const claim = await deliveries.claim(key, { replay });
    // Settled by someone else: never twice. Held by someone else: look again when their lease ends (they may be dead).
    if (!claim.claimed) return claim.heldUntil ? { kind: 'held', until: claim.heldUntil } : { kind: 'done' };

    let rendered: Rendered;
    let result: SendResult;
    try {
      rendered = render(event, profile);
      const message = {
        channel,
        to: address.to,
        userId: profile.userId,
        eventId: event.eventId,
        eventType: event.eventType,
        idempotencyKey: idempotencyKeyOf(key),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        payload: rendered.payload,
      };
      // A delivery tried before (taken over from a dead process, or retried after an ambiguous failure) may be out.
      // Looked at again once the send's turn comes: what was true at the claim may not be by then.
      const beforeSend = () => recheck(event, channel, profile.userId, address.to, options.ingestedAt);
      result = await deliveries.holdWhile({ id: claim.id, attempt: claim.attempt }, () =>
        send(
          message,
          claim.recovered || claim.attempt > 1,
          lookBackFrom(claim.firstClaimedAt),
          beforeSend,
          options.signal,
        ),
      );
    } catch (error) {
      const cause = error instanceof AbortError ? error.originalError : error;
      if (cause instanceof SendWithdrawnError) {
        await deliveries.withdraw(claim.id, cause.withdrawal);
        return { kind: 'done' };
      }
      // Certainly unsent: given back, so the next owner's claim sends without asking the provider first.
      if (cause instanceof SendHandedOverError) {
        await deliveries.handBack(claim.id);
        return { kind: 'handed-over' };
      }
      const failure = classifyFailure(cause);
      if (pausesChannel(cause) || failure.retriable) {
        await deliveries.release(claim.id, failure);
        // Paused, the record is read again and keeps its retry level: an account refusal is not this message's failure.
        return pausesChannel(cause)
          ? { kind: 'paused' }
          : { kind: 'transient', failure, attempt: claim.attempt, claimId: claim.id };
      }
      await deliveries.release(claim.id, failure, 'failed');
      return { kind: 'permanent', failure, attempt: claim.attempt, claimId: claim.id };
    }
    // The provider has it: from here on the claim is never released, or a retry would send it again. Recording is
    // retried instead, for as long as a database restart or failover takes; should it still fail, the claim stays
    // 'sending' until its lease ends (the one duplicate window).
    const sent = { ...result, recipient: address.to, subject: rendered.subject, body: rendered.text };
    await pRetry(() => deliveries.markSent(claim.id, sent), MARK_SENT_RETRIES);
    observeLatency(deliveryLatency, channel, event);
    return { kind: 'done' };
  }
}

export type DeliverTo = ReturnType<typeof createDeliveryPipeline>;

/** A producer's clock ahead of ours would make it negative: that counts as no wait at all. */
function observeLatency(
  latency: DeliveryMetrics['deliveryLatency'],
  channel: Channel,
  event: Pick<GatewayEvent, 'eventTimestamp'>,
): void {
  const since = Date.parse(event.eventTimestamp);
  if (Number.isFinite(since)) latency.observe({ channel }, Math.max(0, (Date.now() - since) / 1000));
}

/**
 * Where to start looking at the provider for an earlier copy: the delivery's first claim (a retry at the 10-minute
 * level, or after an outage, must still find what the first attempt handed over), less a minute for clocks that differ.
 */
export const lookBackFrom = (firstClaimedAt: Date) => new Date(firstClaimedAt.getTime() - 60_000);

const OPT_OUT_CHANNELS = new Set<Channel>(['sms', 'whatsapp']);

/** About a minute of tries, growing to 5 s apart: longer than PostgreSQL takes to restart or fail over. */
const MARK_SENT_RETRIES = { retries: 15, minTimeout: 100, maxTimeout: 5_000, maxRetryTime: 60_000 };

/** SMS and WhatsApp that are not urgent wait for the end of the person's quiet hours; nothing else waits. */
function quietHoursHold(profile: UserProfile, event: GatewayEvent, channel: Channel): Date | undefined {
  if (!profile.quietHours || !QUIET_CHANNELS.has(channel) || URGENT_EVENTS.has(event.eventType)) return undefined;
  return quietUntil(profile.quietHours);
}
