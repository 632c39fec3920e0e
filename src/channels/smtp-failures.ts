import { isNetworkErrorCode } from '../errors/codes.js';
import { redactProviderText } from '../util/redact.js';
import { DeliveryError } from './channel.js';

/** Connection-level failures: the server may be back in a moment. */
const TRANSIENT_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'ECONNREFUSED',
  'ECONNRESET',
  'EDNS',
  'ETLS',
  'EPROTOCOL',
]);

/**
 * The server refused our login, not the message: nodemailer's EAUTH (a 535 "credentials invalid", 534 "log in another
 * way") and ENOAUTH (credentials missing), and 530 "authentication required" or 454 "temporary authentication failure"
 * answered to the envelope. Every message fails alike until the credentials are fixed.
 */
const AUTH_ERROR_CODES = new Set(['EAUTH', 'ENOAUTH']);
const AUTH_REPLY_CODES = new Set([454, 530, 534, 535]);

/** SMTP reply codes say it: 4xx try again later, 5xx never. No reply at all is a connection problem. */
export function classifySmtpError(error: unknown): DeliveryError {
  const err = error as { code?: string; responseCode?: number; message?: string };
  const message = redactProviderText(`SMTP: ${err.message ?? String(error)}`);
  if ((err.code && AUTH_ERROR_CODES.has(err.code)) || (err.responseCode && AUTH_REPLY_CODES.has(err.responseCode))) {
    // Retriable and the provider's: it opens the breaker and email waits, keeping its records, until it is fixed.
    return new DeliveryError(message, 'SMTP_AUTH', true, { cause: error, providerWide: true });
  }
  if (err.responseCode && err.responseCode >= 500)
    return new DeliveryError(message, `SMTP_${err.responseCode}`, false, { cause: error });
  if (err.responseCode && err.responseCode >= 400)
    return new DeliveryError(message, `SMTP_${err.responseCode}`, true, { cause: error });
  if (err.code === 'EENVELOPE') return new DeliveryError(message, 'SMTP_ENVELOPE', false, { cause: error });
  return new DeliveryError(
    message,
    isNetworkErrorCode(err.code) && TRANSIENT_CODES.has(err.code) ? `SMTP_${err.code}` : 'SMTP_UNKNOWN',
    true,
    { cause: error },
  );
}
