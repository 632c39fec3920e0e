import type { SendResult } from './channel.js';

/**
 * Asks an SMTP server that has an HTTP API (MailDev's REST API) whether it already holds a message, by the
 * Message-ID the gateway gave it. Plain SMTP cannot be asked; where this is available, a delivery taken over from a
 * process that died mid-send is looked up here first instead of being sent a second time.
 */
export function createMailDevLookup(baseUrl: string, { timeoutMs = 5_000 } = {}) {
  const base = baseUrl.replace(/\/+$/, '');
  return async function findByMessageId(messageId: string): Promise<SendResult | undefined> {
    // MailDev filters its list by any field in dot notation; its messageId is the header without the angle brackets.
    const url = `${base}/email?messageId=${encodeURIComponent(messageId.replace(/^<|>$/g, ''))}`;
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`mail lookup answered ${response.status}`);
    const found = (await response.json()) as unknown[];
    return found.length > 0 ? { providerId: messageId, status: 'sent' } : undefined;
  };
}
