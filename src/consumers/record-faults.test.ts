import { describe, expect, it } from 'vitest';
import { describeError, faultKindOf } from './record-faults.js';

const sqlError = (code: string) => Object.assign(new Error(`sql ${code}`), { code });

describe('faultKindOf', () => {
  it.each([
    ['a NUL in text', sqlError('22021'), 'record'],
    ['an unsupported unicode escape in jsonb', sqlError('22P05'), 'record'],
    ['a check violation', sqlError('23514'), 'record'],
    ['a value too long', sqlError('54000'), 'record'],
    ['a bug the record reaches', new TypeError("Cannot read properties of undefined (reading 'x')"), 'record'],
    [
      'a bug whose message names a timeout',
      new TypeError("Cannot read properties of undefined (reading 'timeoutMs')"),
      'record',
    ],
    ['a bad timer value', new RangeError('Invalid timeout value'), 'record'],
    ['the server shutting down', sqlError('57P01'), 'outage'],
    ['a lost connection', sqlError('08006'), 'outage'],
    ['too many connections', sqlError('53300'), 'outage'],
    [
      'a refused socket',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      'outage',
    ],
    ['Kafka unreachable', Object.assign(new Error('Connection error'), { name: 'KafkaJSConnectionError' }), 'outage'],
    ['Redis gone', new Error('Connection is closed.'), 'outage'],
    ['a bad value for a column type', sqlError('22P02'), 'record'],
    ['a table the code names wrongly', sqlError('42P01'), 'record'],
    ['a statement cancelled (statement timeout)', sqlError('57014'), 'outage'],
    ['the disk full', sqlError('53100'), 'outage'],
    ['an error raised by PL/pgSQL', sqlError('P0001'), 'unknown'],
    ['a broken pipe', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }), 'outage'],
    [
      'a host that does not resolve',
      Object.assign(new Error('getaddrinfo ENOTFOUND db'), { code: 'ENOTFOUND' }),
      'outage',
    ],
    [
      'Redis out of retries',
      Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' }),
      'outage',
    ],
    ['a timeout in words', new Error('Query read timeout'), 'outage'],
    ['a date out of range', new RangeError('Invalid time value'), 'record'],
    ['JSON that does not parse', new SyntaxError('Unexpected token } in JSON at position 9'), 'record'],
    ['a thrown string', 'boom', 'unknown'],
    ['undefined', undefined, 'unknown'],
    ['something else', new Error('surprise'), 'unknown'],
  ])('%s is a %s fault', (_, error, kind) => {
    expect(faultKindOf(error)).toBe(kind);
  });
});

describe('describeError', () => {
  it.each([
    ['an SQL error: class, SQLSTATE, message', sqlError('22021'), 'Error 22021: sql 22021'],
    ['a bug: its class and message', new TypeError('x is not a function'), 'TypeError: x is not a function'],
    ['a numeric code is left out', Object.assign(new Error('Authenticate'), { code: 20003 }), 'Error: Authenticate'],
    ['a thrown string', 'boom', 'Error: boom'],
    ['undefined', undefined, 'Error: undefined'],
  ])('%s → %s', (_, error, text) => {
    expect(describeError(error)).toBe(text);
  });

  it('stops at 400 characters, never a stack', () => {
    const text = describeError(new Error('x'.repeat(1_000)));
    expect(text).toHaveLength(400);
    expect(text).not.toContain('    at ');
  });
});
