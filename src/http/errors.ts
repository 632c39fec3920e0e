import type { FastifyError, FastifyInstance } from 'fastify';

/** One problem with a request: where (a dotted path into the body, or a header name) and what is wrong. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** The body of every error answer: `{ error, message, details? }`. */
export interface ErrorBody {
  error: string;
  message: string;
  details?: ErrorDetail[];
}

/** An error a route raises on purpose, with the status and body it should produce. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const ERROR_NAMES: Record<number, string> = {
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
        error: error.error,
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
