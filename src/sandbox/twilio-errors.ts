import type { FastifyError, FastifyInstance } from 'fastify';
import { ZodError } from 'zod';

/**
 * Twilio's REST errors, in the shape its API answers them, so the real SDK raises the same `RestException`
 * (status, code, message, moreInfo) against the sandbox as against Twilio.
 */

/** The body Twilio sends with every 4xx/5xx on the 2010-04-01 API. */
export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

/** An error a sandbox route raises on purpose; the error handler answers it as Twilio would. */
export class TwilioApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'TwilioApiError';
  }

  toBody(): TwilioErrorBody {
    return twilioErrorBody(this.status, this.code, this.message);
  }
}

export function twilioErrorBody(status: number, code: number, message: string): TwilioErrorBody {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

/** Twilio's wording for the errors the sandbox produces, so logs and tests read like production ones. */
export const TWILIO_ERRORS = {
  authenticate: () => new TwilioApiError(401, 20003, 'Authenticate'),
  notFound: (path: string) => new TwilioApiError(404, 20404, `The requested resource ${path} was not found`),
  toRequired: () => new TwilioApiError(400, 21604, "A 'To' phone number is required."),
  fromRequired: () => new TwilioApiError(400, 21603, "A 'From' phone number is required."),
  bodyRequired: () => new TwilioApiError(400, 21602, 'Message body is required.'),
  bodyTooLong: () => new TwilioApiError(400, 21617, 'The concatenated message body exceeds the 1600 character limit.'),
  invalidTo: (to: string) => new TwilioApiError(400, 21211, `The 'To' number ${to} is not a valid phone number.`),
  channelMismatch: () =>
    new TwilioApiError(400, 21910, 'Invalid From and To pair. From and To should be of the same channel'),
  invalidCallback: () => new TwilioApiError(400, 21609, 'The StatusCallback URL is not a valid URL.'),
} as const;

/** Messages for the delivery errors a fault can inject into status callbacks (Twilio's 300xx range). */
export const DELIVERY_ERROR_MESSAGES: Record<number, string> = {
  30001: 'Queue overflow',
  30002: 'Account suspended',
  30003: 'Unreachable destination handset',
  30004: 'Message blocked',
  30005: 'Unknown destination handset',
  30006: 'Landline or unreachable carrier',
  30007: 'Message filtered',
  30008: 'Unknown error',
};

/** Messages for the request failures a fault can inject, keyed by Twilio code. */
export const REQUEST_ERROR_MESSAGES: Record<number, string> = {
  20003: 'Authenticate',
  20429: 'Too Many Requests',
  20500: 'Internal Server Error',
  20503: 'Service Unavailable',
};

/**
 * Every sandbox error leaves in Twilio's shape, so the SDK builds a proper RestException even for the framework's
 * own refusals (wrong content type, malformed body); those have no Twilio code, so they get 20000 + HTTP status.
 */
export function registerTwilioErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | TwilioApiError | ZodError, request, reply) => {
    if (error instanceof TwilioApiError) return reply.code(error.status).send(error.toBody());
    if (error instanceof ZodError) {
      const message = error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
      return reply.code(400).send(twilioErrorBody(400, 20400, message));
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'sandbox request failed');
      return reply.code(500).send(twilioErrorBody(500, 20500, 'Internal Server Error'));
    }
    return reply.code(status).send(twilioErrorBody(status, 20000 + status, error.message));
  });
  app.setNotFoundHandler((request, reply) => {
    const error = TWILIO_ERRORS.notFound(request.url.split('?')[0] ?? request.url);
    return reply.code(404).send(error.toBody());
  });
}
