import { GatewayError } from '../errors/gateway-error.js';

/**
 * A message could not be rendered: the template is broken, missing, or the event lacks a value the template insists
 * on. Rendering the same event with the same templates fails the same way every time, so this is never retriable:
 * the consumer dead-letters it with this message, which names the template file and, where known, the variable.
 */
export class TemplateError extends GatewayError<'TEMPLATE_ERROR'> {
  declare readonly retriable: false;
  constructor(
    message: string,
    /** The template file, relative to the templates folder (`booking-confirmed/sms.en.hbs`). */
    readonly template: string,
    /** The variable or helper at fault, as written in the template (`totalFare`, `payload.minutes`). */
    readonly variable?: string,
    options?: { cause?: unknown },
  ) {
    super(`${template}: ${message}`, { code: 'TEMPLATE_ERROR', retriable: false, ...options });
    this.name = 'TemplateError';
  }
}

/**
 * Thrown by a helper handed nothing, or something unusable, where it needs a value. The renderer knows which template
 * was running and turns it into a {@link TemplateError}; the helper only knows the variable.
 */
export class HelperInputError extends Error {
  constructor(
    readonly helper: string,
    readonly variable: string,
    problem = 'is missing',
  ) {
    super(`helper "${helper}" needs a value for "${variable}", which ${problem}`);
    this.name = 'HelperInputError';
  }
}
