/**
 * Every code the gateway stores (ledger, delivery attempts, dead letters, `x-error-code`) or answers (HTTP error
 * bodies, live-alert handshake refusals), in one place, so a new one is added here or does not type-check. Grouped by
 * where it appears; a code is listed once even where two places use it (`USER_ERASED`, `TOKEN_EXPIRED`).
 */

/** A send failed, as the adapter, the breaker or the look-up before a re-send classified it. */
export const DELIVERY_FAILURE_CODES = [
  'PROVIDER_TIMEOUT',
  'PROVIDER_LOOKUP_FAILED',
  'CIRCUIT_OPEN',
  'TWILIO_AUTH',
  'TWILIO_NETWORK',
  'TWILIO_QUEUE_TIMEOUT',
  'SEND_RATE_UNAVAILABLE',
  'SEND_RATE_STOPPED',
  'SEND_HANDED_OVER',
  'SEND_CHECK_UNAVAILABLE',
  'SMTP_AUTH',
  'SMTP_ENVELOPE',
  'SMTP_UNKNOWN',
  'STORE_UNAVAILABLE',
  'INVALID_MESSAGE',
  'TEMPLATE_ERROR',
] as const;

/** A record set aside by a consumer or the bridge before any send: poison, or a failure the boundary caught. */
export const RECORD_FAILURE_CODES = ['NOT_JSON', 'EVENT_INVALID', 'UNHANDLED', 'UNSTORABLE', 'CLAIM_HELD'] as const;

/** A delivery not sent on purpose (ledger `skipped`, or `failed` when withdrawn), or taken over from a dead worker. */
export const LEDGER_CODES = [
  'PREFERENCE_OFF',
  'BELOW_THRESHOLD',
  'EXPIRED',
  'SUPERSEDED',
  'NO_ADDRESS',
  'NOT_OPTED_IN',
  'OPTED_OUT',
  'ERASED',
  'TAKEN_OVER',
] as const;

/** The `error` of an HTTP error body: lower case, as clients already match them. */
export const HTTP_ERROR_CODES = [
  'bad_request',
  'invalid_event',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'gone',
  'payload_too_large',
  'unsupported_media_type',
  'too_many_requests',
  'unavailable',
  'internal_error',
] as const;

/** A live-alert handshake refused (`connect_error`'s `data.code`), and the user-token verdicts behind some of them. */
export const SOCKET_REFUSAL_CODES = [
  'TOKEN_MISSING',
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'USER_ERASED',
  'TOO_MANY_SOCKETS',
  'RATE_LIMITED',
  'UNAVAILABLE',
] as const;

/**
 * Errors passed between modules and logged, never stored in the ledger: configuration, roles, publishing, replays,
 * status webhooks (a webhook's last error is kept on the webhook).
 */
export const INTERNAL_CODES = [
  'CONFIG_INVALID',
  'ROLE_INVALID',
  'PUBLISH_FAILED',
  'QUEUE_UNAVAILABLE',
  'NOT_REPLAYABLE',
  'WEBHOOK_REJECTED',
  'WEBHOOK_UNREACHABLE',
  'WEBHOOK_ADDRESS_REFUSED',
  'LEASE_LOST',
] as const;

/** Every fixed code, each once. */
export const GATEWAY_ERROR_CODES = [
  ...DELIVERY_FAILURE_CODES,
  ...RECORD_FAILURE_CODES,
  ...LEDGER_CODES,
  ...HTTP_ERROR_CODES,
  ...SOCKET_REFUSAL_CODES,
  ...INTERNAL_CODES,
] as const;

/** Twilio's own error number (`TWILIO_21211`, `TWILIO_63016`): a family, not a thousand entries. */
export type TwilioErrorCode = `TWILIO_${number}`;
/** Twilio answered an HTTP error without an error number. */
export type ProviderHttpCode = `HTTP_${number}`;
/** An SMTP reply code (`SMTP_550`) or nodemailer's connection-level code (`SMTP_ECONNREFUSED`). */
export type SmtpErrorCode = `SMTP_${number}` | `SMTP_E${string}`;
/** A network failure before any answer, as Node or the HTTP client names it (`ECONNRESET`, `ERR_NETWORK`). */
export type NetworkErrorCode = `E${string}`;

export type FixedErrorCode = (typeof GATEWAY_ERROR_CODES)[number];
export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number];
export type DeliveryFailureCode =
  (typeof DELIVERY_FAILURE_CODES)[number] | TwilioErrorCode | ProviderHttpCode | SmtpErrorCode | NetworkErrorCode;

/** Any code a {@link GatewayError} may carry. */
export type GatewayErrorCode = FixedErrorCode | DeliveryFailureCode;

/** Whether a provider's or Node's code string names a network failure (they all start with E). */
export const isNetworkErrorCode = (code: unknown): code is NetworkErrorCode =>
  typeof code === 'string' && /^E[A-Z0-9_]+$/.test(code);
