import { isNetworkErrorCode } from '../errors/codes.js';
import { redactProviderText } from '../util/redact.js';
import { DeliveryError } from './channel.js';

/**
 * Twilio error codes after which the same message can never succeed: invalid or unreachable number, opted out,
 * WhatsApp user not reachable, landline or carrier refusal.
 */
export const PERMANENT_TWILIO_CODES = new Set([
  21211, 21408, 21602, 21604, 21610, 21612, 21614, 21910, 30006, 63015, 63016,
]);

/** Rate limits and queue overflow: worth another try later. */
const TRANSIENT_TWILIO_CODES = new Set([20429, 30001, 30003, 30008, 30022]);

/**
 * Refusals of the account, not of the message: credentials wrong or rotated (20003, any 401), the account inactive
 * (20005), test credentials (20008), or an account or API path that does not exist (20404; creating a message has no
 * other resource to miss). Every message fails the same way until someone fixes the configuration.
 */
const ACCOUNT_TWILIO_CODES = new Set([20003, 20005, 20008, 20404]);

/** Classifies an error thrown by the twilio SDK (a RestException, or a network error before any answer). */
export function classifyTwilioError(error: unknown): DeliveryError {
  const err = error as { code?: number | string; status?: number; message?: string };
  const code = typeof err.code === 'number' ? err.code : undefined;
  const message = redactProviderText(`Twilio: ${err.message ?? String(error)}`);
  if ((code !== undefined && ACCOUNT_TWILIO_CODES.has(code)) || err.status === 401) {
    // Retriable and the provider's: it opens the breaker and the channel waits, keeping its records, until it is fixed.
    return new DeliveryError(
      `${message} (${code ?? `HTTP ${err.status}`}: the account was refused)`,
      'TWILIO_AUTH',
      true,
      { cause: error, providerWide: true },
    );
  }
  if (code !== undefined && PERMANENT_TWILIO_CODES.has(code))
    return new DeliveryError(message, `TWILIO_${code}`, false, { cause: error });
  if (code !== undefined && TRANSIENT_TWILIO_CODES.has(code))
    return new DeliveryError(message, `TWILIO_${code}`, true, { cause: error });
  if (err.status === 429 || (err.status !== undefined && err.status >= 500)) {
    return new DeliveryError(message, code ? `TWILIO_${code}` : `HTTP_${err.status}`, true, { cause: error });
  }
  if (err.status !== undefined && err.status >= 400) {
    // Any other 4xx (bad parameters, content refused) will fail the same way again.
    return new DeliveryError(message, code ? `TWILIO_${code}` : `HTTP_${err.status}`, false, { cause: error });
  }
  // No answer at all. Refused or unresolved connections sent nothing; anything else (a timeout, a reset) may have
  // reached Twilio, which may still be creating the message.
  const failureCode = isNetworkErrorCode(err.code) ? err.code : 'TWILIO_NETWORK';
  return new DeliveryError(message, failureCode, true, {
    cause: error,
    ambiguous: !NOTHING_SENT_CODES.has(failureCode),
  });
}

/** Network failures that happen before a request leaves: the provider cannot have it. */
const NOTHING_SENT_CODES = new Set<string>(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
