import pMap from 'p-map';
import pRetry from 'p-retry';
import { findAtProvider, type ChannelAdapter, type OutboundMessage, type SendResult } from '../channels/channel.js';
import type { Channel } from '../events/index.js';
import type { Logger } from '../logger.js';
import type { PreferencesRepository } from '../store/preferences.repository.js';
import { channelEnabled } from '../preferences/profile.js';
import { backoffDelay } from '../util/backoff.js';
import { classifyFailure } from './failures.js';
import { idempotencyKeyOf, type DeliveriesRepository, type DueDelivery } from '../store/deliveries.repository.js';
import { LeaseLostError } from '../store/delivery-lease.js';
import { lookBackFrom } from './delivery.pipeline.js';
import type { OptOuts } from './opt-outs.js';

/** Why a held message is no longer sent, looked at again when its time comes: a night is long. */
type Withdrawn = { code: string; message: string; status: 'skipped' };

/**
 * Sends the messages quiet hours held back, once their time has come. Polls (each worker, for its own channels);
 * claims are shared safely between workers, and a message is sent under the same ledger rules as any other. Each
 * message is claimed on its own, as it is sent, so its lease runs only while it is in hand.
 */
export function createDeferredSender({
  adapters,
  deliveries,
  preferences,
  optOutsFor,
  logger,
  intervalMs = 1000,
  concurrency = 8,
}: {
  adapters: ChannelAdapter[];
  deliveries: DeliveriesRepository;
  /** What the person wants now: a message held overnight is not sent if they turned the channel off meanwhile. */
  preferences: Pick<PreferencesRepository, 'get'>;
  /** Numbers that sent STOP on a channel, looked at again when the message's time comes. */
  optOutsFor?: (channel: Channel) => OptOuts | undefined;
  logger: Logger;
  intervalMs?: number;
  /** Messages of one channel in flight at once. */
  concurrency?: number;
}) {
  const log = logger.child({ component: 'deferred-sender' });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopping = false;

  async function withdrawn(due: DueDelivery): Promise<Withdrawn | undefined> {
    // Erased while it waited: there is no one to send it to any more. Settled as the send's own look does it
    // (send-recheck.ts): skipped, which no replay ever takes up again.
    if (!due.recipient || due.body === null)
      return { code: 'ERASED', message: 'recipient erased before delivery', status: 'skipped' };
    const profile = await preferences.get(due.key.userId);
    if (profile?.erased) return { code: 'ERASED', message: 'recipient erased before delivery', status: 'skipped' };
    if (!channelEnabled(profile, due.key.eventType, due.key.channel)) {
      return {
        code: 'PREFERENCE_OFF',
        message: `${due.key.channel} was turned off while the message waited`,
        status: 'skipped',
      };
    }
    const optOuts = optOutsFor?.(due.key.channel);
    if (optOuts && (await optOuts.has(due.recipient))) {
      return { code: 'OPTED_OUT', message: 'the number sent STOP while the message waited', status: 'skipped' };
    }
    return undefined;
  }

  async function sendOne(adapter: ChannelAdapter, due: DueDelivery): Promise<void> {
    const stop = await withdrawn(due);
    if (stop) return deliveries.markFailed(due.id, stop, stop.status);
    const message: OutboundMessage = {
      channel: adapter.channel,
      to: due.recipient!,
      userId: due.key.userId,
      eventId: due.key.eventId,
      eventType: due.key.eventType,
      idempotencyKey: idempotencyKeyOf(due.key),
      text: due.body!,
      ...(due.subject && { subject: due.subject }),
    };
    let result: SendResult;
    try {
      result = await deliveries.holdWhile(due, (stillHeld) => findOrSend(adapter, due, message, stillHeld));
    } catch (error) {
      if (error instanceof LeaseLostError) {
        // Another sender holds it now, and asks the provider before it sends: nothing here to record or undo.
        log.info({ eventId: due.key.eventId }, 'deferred delivery taken over during its look-up; not sent here');
        return;
      }
      const failure = classifyFailure(error);
      if (failure.retriable)
        await deliveries.redefer(
          due.id,
          new Date(Date.now() + backoffDelay(due.attempt, { baseMs: 5_000, maxMs: 300_000 })),
          failure,
          due.attempt,
        );
      else await deliveries.markFailed(due.id, failure, 'failed');
      log.warn(
        { code: failure.code, retriable: failure.retriable, eventId: due.key.eventId },
        'deferred delivery failed',
      );
      return;
    }
    // The provider has it: a failure to record that is not a failed send. Recording is retried; should it still fail,
    // the row stays 'sending' until its lease ends and the next taker asks the provider before sending.
    const sent = {
      ...result,
      recipient: due.recipient!,
      body: due.body!,
      ...(due.subject && { subject: due.subject }),
    };
    await pRetry(() => deliveries.markSent(due.id, sent), { retries: 5, minTimeout: 100, maxTimeout: 2_000 });
  }

  /**
   * Under the claim's lease, renewed all along (a slow list must not let another sender take the message meanwhile).
   * Tried before (taken over from a sender that died mid-send, or a failure that may have reached the provider, such
   * as a timeout): the provider may have it already, and is asked first, back to the delivery's first claim. The send
   * itself is fenced: should the lease have been lost all the same (the database away while it ran out), the sender
   * that took it sends, and this one does not.
   */
  async function findOrSend(
    adapter: ChannelAdapter,
    due: DueDelivery,
    message: OutboundMessage,
    stillHeld: () => Promise<void>,
  ): Promise<SendResult> {
    const found = due.triedBefore
      ? await findAtProvider(adapter, message, lookBackFrom(due.firstClaimedAt))
      : undefined;
    if (found) return found;
    await stillHeld();
    return adapter.send(message);
  }

  /** Parallel lanes, each claiming its next message only when it is ready to send it. */
  async function sendDue(adapter: ChannelAdapter): Promise<void> {
    await pMap(Array.from({ length: concurrency }), async () => {
      for (;;) {
        if (stopping) return;
        const [due] = await deliveries.claimDue(adapter.channel, 1);
        if (!due) return;
        await sendOne(adapter, due);
      }
    });
  }

  // One look for every channel per sweep; the lanes start only for a channel with something due. An empty claim
  // per lane per sweep cost more than the sends it looked for (a planned UPDATE each, eight lanes, four channels).
  const tick = () => {
    running ??= deliveries
      .channelsDue(adapters.map((adapter) => adapter.channel))
      .then((due) => Promise.all(adapters.filter((adapter) => due.includes(adapter.channel)).map(sendDue)))
      .then(
        () => undefined,
        (error: unknown) => log.warn({ err: error }, 'deferred sweep failed; next sweep retries'),
      )
      .finally(() => (running = undefined));
  };

  return {
    start() {
      stopping = false;
      timer = setInterval(tick, intervalMs);
    },
    async stop() {
      stopping = true;
      clearInterval(timer);
      await running;
    },
  };
}
