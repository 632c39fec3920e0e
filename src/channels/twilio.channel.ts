import pLimit from 'p-limit';
import type { MessageInstance } from 'twilio/lib/rest/api/v2010/account/message.js';
import { createTwilioClient } from './twilio-client.js';
import { DeliveryError, type ChannelAdapter, type OutboundMessage, type SendResult } from './channel.js';
import { classifyTwilioError } from './twilio-failures.js';

export interface TwilioChannelOptions {
  channel: 'sms' | 'whatsapp';
  accountSid: string;
  authToken: string;
  /** https://api.twilio.com, or the local sandbox. */
  baseUrl: string;
  /** `+1…` for SMS, `whatsapp:+1…` for WhatsApp. */
  from: string;
  /** Where Twilio posts delivery status updates; none when the gateway is not reachable from Twilio. */
  statusCallback?: string;
  /** Requests to the API in flight at once; the rest wait here, before their timeout starts. */
  maxInFlight?: number;
  /** How long a request may wait here for its turn before it fails, unsent (10 s). */
  maxQueueWaitMs?: number;
}

/**
 * Twilio's statuses of a message on its way or arrived: only such a copy counts as already sent before a resend.
 * `failed`, `undelivered` and `canceled` copies never reached the person.
 */
const REACHING_STATUSES = new Set<string>(['queued', 'accepted', 'sending', 'sent', 'delivered', 'read']);

/** The ledger's word for how far Twilio got with a message it took (a WhatsApp `read` was delivered). */
function ledgerStatusOf(status: string): SendResult['status'] {
  if (status === 'delivered' || status === 'read') return 'delivered';
  return status === 'sent' ? 'sent' : 'queued';
}

/** SMS and WhatsApp through the twilio SDK; the two differ only in their addresses (`whatsapp:+…`). */
export function createTwilioChannel(options: TwilioChannelOptions): ChannelAdapter {
  const client = createTwilioClient({
    accountSid: options.accountSid,
    authToken: options.authToken,
    baseUrl: options.baseUrl,
    timeoutMs: 10_000,
  });
  // The SDK loads its API modules on first use: loaded now, the first send takes as long as the next (a sender's rate
  // spaces sends by when they leave, and a slow first one would reach Twilio close behind the second).
  void client.messages;
  // A bound per provider, not per record: an API flooded past what it answers in time times requests out, and a
  // timed-out create is ambiguous (it may still be taken), which costs a look-up and risks a second copy.
  const bound = pLimit(options.maxInFlight ?? 16);
  const maxQueueWaitMs = options.maxQueueWaitMs ?? 10_000;
  // A request that waited its turn too long is given up before it starts: nothing reached Twilio, so the retry is
  // certain to be the only copy (unlike a request that timed out on the wire).
  const limit = <T>(call: () => Promise<T>): Promise<T> => {
    const queuedAt = Date.now();
    return bound(() => {
      if (Date.now() - queuedAt > maxQueueWaitMs) {
        throw new DeliveryError(
          `waited over ${maxQueueWaitMs} ms for a turn at the Twilio API; not sent`,
          'TWILIO_QUEUE_TIMEOUT',
          true,
        );
      }
      return call();
    });
  };
  return {
    channel: options.channel,
    async send(message: OutboundMessage): Promise<SendResult> {
      try {
        const created = await limit(() =>
          client.messages.create({
            to: message.to,
            from: options.from,
            body: message.text,
            ...(options.statusCallback && { statusCallback: options.statusCallback }),
          }),
        );
        return { providerId: created.sid, status: ledgerStatusOf(created.status) };
      } catch (error) {
        throw classifyTwilioError(error);
      }
    },
    async findSent(message: OutboundMessage, since: Date): Promise<SendResult | undefined> {
      // The same event renders the same text for the same person: a message to them with this body since then is ours.
      // The list is newest first, so paging stops at the first message older than that.
      const ours = await limit(
        () =>
          new Promise<MessageInstance | undefined>((resolve, reject) => {
            let found: MessageInstance | undefined;
            client.messages.each({
              to: message.to,
              pageSize: 100,
              callback: (m, stop) => {
                if (m.dateCreated < since) return stop();
                // A copy Twilio failed, or the carrier lost, never reached the person: it is not a reason to send nothing.
                if (m.body === message.text && REACHING_STATUSES.has(m.status)) {
                  found = m;
                  stop();
                }
              },
              done: (error?: Error) => (error ? reject(error) : resolve(found)),
            });
            // A refused account (401) pauses the channel, as it does for a send; any other failure to ask stays a failed
            // question (transient, see findAtProvider), never a reason to give the message up.
          }),
      ).catch((error: unknown) => {
        const classified = classifyTwilioError(error);
        throw classified.providerWide ? classified : error;
      });
      return ours && { providerId: ours.sid, status: ledgerStatusOf(ours.status) };
    },
    async close() {},
  };
}
