import { createTwilioClient, type TwilioClientOptions } from './twilio-client.js';

/** How far a message got, in the ledger's words. */
export type MessageFate = 'queued' | 'sent' | 'delivered' | 'undelivered' | 'failed';

/** What the provider has on record for one message: its status and, for a failure, its error code (`TWILIO_30003`). */
export interface ProviderRecord {
  status: MessageFate;
  errorCode?: string;
}

/** Twilio's statuses in the ledger's words: a WhatsApp `read` was delivered, a `canceled` one never left. */
function fateOf(status: string): MessageFate {
  switch (status) {
    case 'delivered':
    case 'read':
      return 'delivered';
    case 'undelivered':
      return 'undelivered';
    case 'failed':
    case 'canceled':
      return 'failed';
    case 'sent':
      return 'sent';
    default:
      return 'queued';
  }
}

/**
 * Asks Twilio for one message by its sid (the SDK's `messages(sid).fetch()`), for a delivery whose status callbacks
 * never came. Undefined when Twilio has no such message (404); any other failure is thrown, to be asked again later.
 */
export function createTwilioStatusLookup(options: Omit<TwilioClientOptions, 'timeoutMs'>) {
  const client = createTwilioClient({ ...options, timeoutMs: 10_000 });
  return async (sid: string): Promise<ProviderRecord | undefined> => {
    try {
      const message = await client.messages(sid).fetch();
      const status = fateOf(message.status);
      return message.errorCode ? { status, errorCode: `TWILIO_${message.errorCode}` } : { status };
    } catch (error) {
      if ((error as { status?: number }).status === 404) return undefined;
      throw error;
    }
  };
}

export type TwilioStatusLookup = ReturnType<typeof createTwilioStatusLookup>;
