import { CircuitOpenError } from '../channels/breaker.js';
import { DeliveryError } from '../channels/channel.js';
import { TemplateError } from '../templates/template-error.js';
import { redactProviderText } from '../util/redact.js';

export interface Failure {
  code: string;
  /** Redacted: it goes to the ledger, the dead letters and the logs. */
  message: string;
  retriable: boolean;
}

/** What a failed send means for the ledger: adapters and templates classify; anything unforeseen is retried. */
export function classifyFailure(error: unknown): Failure {
  if (error instanceof DeliveryError)
    return { code: error.code, message: redactProviderText(error.message), retriable: error.retriable };
  if (error instanceof TemplateError)
    return { code: error.code, message: redactProviderText(error.message), retriable: false };
  // Unknown failures (a bug, a dropped database connection) are retried rather than thrown away.
  return {
    code: 'UNEXPECTED',
    message: redactProviderText((error as Error)?.message ?? String(error)),
    retriable: true,
  };
}

/**
 * The provider cannot take any message now: its breaker is open, or it refused our account. The channel pauses and the
 * record is read again later, neither retried in place nor moved on towards the dead letters.
 */
export function pausesChannel(error: unknown): boolean {
  return error instanceof CircuitOpenError || (error instanceof DeliveryError && error.providerWide);
}
