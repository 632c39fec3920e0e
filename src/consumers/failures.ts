import { DeliveryError } from '../channels/channel.js';
import { TemplateError } from '../templates/template-error.js';

export interface Failure {
  code: string;
  message: string;
  retriable: boolean;
}

/** What a failed send means for the ledger: adapters and templates classify; anything unforeseen is retried. */
export function classifyFailure(error: unknown): Failure {
  if (error instanceof DeliveryError) return { code: error.code, message: error.message, retriable: error.retriable };
  if (error instanceof TemplateError) return { code: error.code, message: error.message, retriable: false };
  // Unknown failures (a bug, a dropped database connection) are retried rather than thrown away.
  return { code: 'UNEXPECTED', message: (error as Error)?.message ?? String(error), retriable: true };
}
