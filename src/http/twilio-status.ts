import pRetry from 'p-retry';
import type { DeliveriesRepository } from '../store/deliveries.repository.js';

/** What became of a status callback: recorded, about a message we never sent, or to be sent again by Twilio later. */
export type StatusOutcome = 'recorded' | 'unknown' | 'not-yet';

/**
 * Records a provider status for a sid. A callback can overtake the worker's record of the send (it is written just
 * after Twilio answered, in batches): an unknown sid is looked for again for a moment. Past that moment, while an SMS
 * or WhatsApp claim still waits for its sid, the callback may well be that message's, so it is refused for Twilio to
 * retry ('not-yet') rather than lost; with no send in flight, the sid is someone else's and is acknowledged.
 */
export async function recordProviderStatus(
  { deliveries }: { deliveries: DeliveriesRepository },
  sid: string,
  status: string,
  errorCode: string | undefined,
  { retries = 5, minTimeout = 100 }: { retries?: number; minTimeout?: number } = {},
): Promise<StatusOutcome> {
  const known = await pRetry(
    async () => {
      if (!(await deliveries.updateProviderStatus(sid, status as 'sent', errorCode))) throw new Error('unknown sid');
      return true;
    },
    { retries, minTimeout, factor: 2 },
  ).catch(() => false);
  if (known) return 'recorded';
  return (await deliveries.sendsAwaitingSid()) ? 'not-yet' : 'unknown';
}
