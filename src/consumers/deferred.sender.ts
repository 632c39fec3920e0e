import { findAtProvider, type ChannelAdapter } from '../channels/channel.js';
import type { Logger } from '../logger.js';
import { backoffDelay } from '../util/backoff.js';
import { classifyFailure } from './failures.js';
import { idempotencyKeyOf, type DeliveriesRepository } from './deliveries.repository.js';

/**
 * Sends the messages quiet hours held back, once their time has come. Polls (each worker, for its own channels);
 * claims are shared safely between workers, and a message is sent under the same ledger rules as any other.
 */
export function createDeferredSender({ adapters, deliveries, logger, intervalMs = 1000, recoveryWindowMs = 120_000 }: {
  adapters: ChannelAdapter[];
  deliveries: DeliveriesRepository;
  logger: Logger;
  intervalMs?: number;
  /** How far back to look for a message a dead sender may have handed over (a little over two leases). */
  recoveryWindowMs?: number;
}) {
  const log = logger.child({ component: 'deferred-sender' });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function sendDue(adapter: ChannelAdapter): Promise<void> {
    for (const due of await deliveries.claimDue(adapter.channel)) {
      if (!due.recipient || due.body === null) {
        // Erased while it waited: there is no one to send it to any more.
        await deliveries.markFailed(due.id, { code: 'ERASED', message: 'recipient erased before delivery' }, 'failed');
        continue;
      }
      const message = {
        channel: adapter.channel, to: due.recipient, userId: due.key.userId, eventId: due.key.eventId, eventType: due.key.eventType,
        idempotencyKey: idempotencyKeyOf(due.key), text: due.body, ...(due.subject && { subject: due.subject }),
      };
      try {
        // Taken over from a sender that died mid-send: the provider may have it already, and is asked first.
        const found = due.recovered ? await findAtProvider(adapter, message, recoveryWindowMs) : undefined;
        const result = found ?? (await adapter.send(message));
        await deliveries.markSent(due.id, { ...result, recipient: due.recipient, body: due.body, ...(due.subject && { subject: due.subject }) });
      } catch (error) {
        const failure = classifyFailure(error);
        if (failure.retriable) await deliveries.redefer(due.id, new Date(Date.now() + backoffDelay(due.attempt, { baseMs: 5_000, maxMs: 300_000 })), failure);
        else await deliveries.markFailed(due.id, failure, 'failed');
        log.warn({ code: failure.code, retriable: failure.retriable, eventId: due.key.eventId }, 'deferred delivery failed');
      }
    }
  }

  const tick = () => {
    running ??= Promise.all(adapters.map(sendDue))
      .then(() => undefined, (error: unknown) => log.warn({ err: error }, 'deferred sweep failed; next sweep retries'))
      .finally(() => (running = undefined));
  };

  return {
    start() {
      timer = setInterval(tick, intervalMs);
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
