import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/gateway-error.js';
import {
  badRequest,
  conflict,
  forbidden,
  gone,
  HttpError,
  invalidEvent,
  notFound,
  tooManyRequests,
  unauthorized,
  unavailable,
} from './errors.js';

const at = { path: 'userId', message: 'not yours' };

describe('the named HTTP errors', () => {
  it.each<[string, HttpError, number, string, boolean, Record<string, string>]>([
    ['badRequest', badRequest('invalid userId in the path', at), 400, 'bad_request', false, {}],
    ['invalidEvent', invalidEvent('the event does not match its schema', [at]), 400, 'invalid_event', false, {}],
    ['unauthorized', unauthorized('missing x-api-key header', at), 401, 'unauthorized', false, {}],
    [
      'unauthorized with a challenge',
      unauthorized('missing Authorization: Bearer token', at, { challenge: 'Bearer' }),
      401,
      'unauthorized',
      false,
      { 'www-authenticate': 'Bearer' },
    ],
    ['forbidden', forbidden('this token belongs to another user', at), 403, 'forbidden', false, {}],
    ['notFound', notFound('no dead letter 7', at), 404, 'not_found', false, {}],
    ['conflict', conflict('key reused', at), 409, 'conflict', false, {}],
    ['gone', gone('this user was erased'), 410, 'gone', false, {}],
    [
      'tooManyRequests',
      tooManyRequests(3, 'rate limit exceeded', at),
      429,
      'too_many_requests',
      true,
      { 'retry-after': '3' },
    ],
    ['unavailable', unavailable('the queue is away'), 503, 'unavailable', true, {}],
    [
      'unavailable with a wait',
      unavailable('the queue is away', { retryAfterS: 5 }),
      503,
      'unavailable',
      true,
      { 'retry-after': '5' },
    ],
  ])('%s: %i %s, retriable %s', (_, error, statusCode, code, retriable, headers) => {
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ name: 'HttpError', statusCode, code, retriable, headers });
  });

  it('takes one detail or a list, and answers a list either way; none means no details', () => {
    expect(badRequest('m', at).details).toEqual([at]);
    expect(badRequest('m', [at, at]).details).toEqual([at, at]);
    expect(badRequest('m', []).details).toEqual([]);
    expect(gone('m').details).toBeUndefined();
  });

  it('keeps its own copy of a list it was given', () => {
    const details = [at];
    const error = badRequest('m', details);
    details.push(at);
    expect(error.details).toEqual([at]);
  });
});
