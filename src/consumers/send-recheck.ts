import { DeliveryError, SendWithdrawnError, type Withdrawal } from '../channels/channel.js';
import { usefulUntil, type ExpiryGrace } from '../events/expiry.js';
import type { Channel, GatewayEvent } from '../events/index.js';
import type { SendChecks } from '../store/send-checks.js';

/** The ledger's words for a notice past its use, and for one a newer notice replaced. */
export const expiredAfter = (until: Date): Withdrawal => ({
  status: 'expired',
  code: 'EXPIRED',
  message: `of no use after ${until.toISOString()} (the departure plus its grace)`,
});
export const supersededBy = (eventId: string): Withdrawal => ({
  status: 'superseded',
  code: 'SUPERSEDED',
  message: `replaced by the newer notice ${eventId}`,
});

/**
 * Asks again, just before the provider is called, what was decided when the send was claimed: a send may wait minutes
 * for its sender's turn. Throws SendWithdrawnError when the notice expired, a newer one replaced it, or its person was
 * erased or their number sent STOP meanwhile. Expiry is the clock's; the rest is one batched statement.
 */
export function createSendRecheck({ checks, expiryGrace }: { checks?: SendChecks; expiryGrace?: ExpiryGrace }) {
  return async function recheck(
    event: GatewayEvent,
    channel: Channel,
    userId: string,
    to: string,
    /** When the gateway took the event in; without it, no newer notice is looked for. */
    ingestedAt?: Date,
  ): Promise<void> {
    const until = expiryGrace && usefulUntil(event, expiryGrace);
    if (until && Date.now() > until.getTime()) throw new SendWithdrawnError(expiredAfter(until));
    if (!checks) return;
    const notice = event.eventType === 'TRAVEL_DISRUPTION' ? event : undefined;
    const request = { userId, channel, to, ...(notice && { notice }), ...(ingestedAt && { ingestedAt }) };
    const found = await checks.check(request).catch((error: unknown) => {
      // Not knowing is not sending: the delivery is retried like any failure before the send.
      throw new DeliveryError('could not check the send again before it went', 'SEND_CHECK_UNAVAILABLE', true, {
        cause: error,
      });
    });
    if (found.erased) {
      throw new SendWithdrawnError({ status: 'skipped', code: 'ERASED', message: 'recipient erased before delivery' });
    }
    if (found.newerNotice) throw new SendWithdrawnError(supersededBy(found.newerNotice));
    if (found.optedOut) {
      throw new SendWithdrawnError({
        status: 'skipped',
        code: 'OPTED_OUT',
        message: 'the number sent STOP while the message waited',
      });
    }
  };
}

export type SendRecheck = ReturnType<typeof createSendRecheck>;
