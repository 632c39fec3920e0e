import type { FastifyError, FastifyInstance } from 'fastify';
import type { HttpErrorCode } from '../errors/codes.js';
import { GatewayError } from '../errors/gateway-error.js';

/** One problem with a request: where (a dotted path into the body, or a header name) and what is wrong. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** The body of every error answer: `{ error, message, details? }`. */
export interface ErrorBody {
  error: HttpErrorCode;
  message: string;
  details?: ErrorDetail[];
}

/** One detail or several: most refusals name one field, schema failures name every one. */
type Details = ErrorDetail | readonly ErrorDetail[];

export interface HttpErrorOptions {
  statusCode: number;
  /** The body's `error`. */
  code: HttpErrorCode;
  details?: Details;
  headers?: Record<string, string>;
}

/**
 * An error a route raises on purpose, with the status and body it should produce. Routes raise it through the named
 * helpers below, so the status and the body's `error` cannot disagree.
 */
export class HttpError extends GatewayError<HttpErrorCode> {
  readonly statusCode: number;
  readonly details?: ErrorDetail[];
  readonly headers: Record<string, string>;

  constructor(message: string, { statusCode, code, details, headers = {} }: HttpErrorOptions) {
    // The client's to retry: after a 429 or a 5xx (once Retry-After has passed) it may work; any other 4xx will not.
    super(message, { code, retriable: statusCode === 429 || statusCode >= 500 });
    this.name = 'HttpError';
    this.statusCode = statusCode;
    if (details !== undefined) this.details = 'path' in details ? [details] : [...details];
    this.headers = headers;
  }
}

/** 400: the request is malformed; the details name what is wrong where. */
export const badRequest = (message: string, details?: Details) =>
  new HttpError(message, { statusCode: 400, code: 'bad_request', details });

/** 400 from `POST /events`: the body is JSON but not one of the events; the details are the schema's issues. */
export const invalidEvent = (message: string, details: Details) =>
  new HttpError(message, { statusCode: 400, code: 'invalid_event', details });

/** 401: no credentials, or ones that prove nothing. `challenge` is the scheme to name in `WWW-Authenticate`. */
export const unauthorized = (message: string, details?: Details, { challenge }: { challenge?: string } = {}) =>
  new HttpError(message, {
    statusCode: 401,
    code: 'unauthorized',
    details,
    headers: challenge ? { 'www-authenticate': challenge } : {},
  });

/** 403: the credentials are valid but do not cover this. */
export const forbidden = (message: string, details?: Details) =>
  new HttpError(message, { statusCode: 403, code: 'forbidden', details });

/** 404: no such thing (an entry, a template); the details name the part of the request that found nothing. */
export const notFound = (message: string, details?: Details) =>
  new HttpError(message, { statusCode: 404, code: 'not_found', details });

/** 409: the request contradicts what is stored (an idempotency key reused for another body, a replayed entry). */
export const conflict = (message: string, details?: Details) =>
  new HttpError(message, { statusCode: 409, code: 'conflict', details });

/** 410: it existed and never will again (an erased user). */
export const gone = (message: string, details?: Details) =>
  new HttpError(message, { statusCode: 410, code: 'gone', details });

/** 429: over a rate limit; `Retry-After` says when the window lets the next request through. */
export const tooManyRequests = (retryAfterS: number, message: string, details?: Details) =>
  new HttpError(message, {
    statusCode: 429,
    code: 'too_many_requests',
    details,
    headers: { 'retry-after': String(retryAfterS) },
  });

/** 503: something the request needs is away; nothing was done, and `Retry-After` (if known) says when to try again. */
export const unavailable = (message: string, { retryAfterS }: { retryAfterS?: number } = {}) =>
  new HttpError(message, {
    statusCode: 503,
    code: 'unavailable',
    headers: retryAfterS === undefined ? {} : { 'retry-after': String(retryAfterS) },
  });

const ERROR_NAMES: Record<number, HttpErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  503: 'unavailable',
};

/** Where Fastify's own refusals point: the header at fault, else the body. */
const FASTIFY_ERROR_PATHS: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'content-type',
  FST_ERR_CTP_INVALID_TYPE: 'content-type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'content-length',
};

/** Every error leaves as JSON; unexpected ones are logged and answered 500 without internals. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) {
      const body: ErrorBody = {
        error: error.code,
        message: error.message,
        ...(error.details && { details: error.details }),
      };
      return reply.code(error.statusCode).headers(error.headers).send(body);
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(500).send({ error: 'internal_error', message: 'internal error' } satisfies ErrorBody);
    }
    // Fastify's own 4xx: bad JSON, wrong content type, body too large, schema validation.
    const body: ErrorBody = { error: ERROR_NAMES[status] ?? 'bad_request', message: error.message };
    body.details = error.validation
      ? error.validation.map((v) => ({
          path: v.instancePath.replace(/^\//, '').replaceAll('/', '.'),
          message: v.message ?? 'invalid',
        }))
      : [{ path: FASTIFY_ERROR_PATHS[error.code] ?? 'body', message: error.message }];
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${request.url}` } satisfies ErrorBody),
  );
}
