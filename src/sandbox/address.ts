/** Twilio addresses a WhatsApp user as `whatsapp:+<E.164>`; everything else here is an SMS number. */
export const WHATSAPP_PREFIX = 'whatsapp:';

export type SandboxChannel = 'sms' | 'whatsapp';

export function channelOf(address: string): SandboxChannel {
  return address.startsWith(WHATSAPP_PREFIX) ? 'whatsapp' : 'sms';
}

/** The phone number behind an address, without its channel prefix. */
export function phoneOf(address: string): string {
  return address.startsWith(WHATSAPP_PREFIX) ? address.slice(WHATSAPP_PREFIX.length) : address;
}

/**
 * Whether `address` is what `wanted` names: the exact address, or, when `wanted` is a bare number, that number on
 * any channel (so a fault or a preview filter for `+1415…` covers its SMS and its WhatsApp alike).
 */
export function addressMatches(wanted: string, address: string): boolean {
  return wanted === address || (channelOf(wanted) === 'sms' && wanted === phoneOf(address));
}
