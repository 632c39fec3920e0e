import { describe, expect, it } from 'vitest';
import { faultKindOf } from './record-faults.js';

const sqlError = (code: string) => Object.assign(new Error(`sql ${code}`), { code });

describe('faultKindOf', () => {
  it.each([
    ['a NUL in text', sqlError('22021'), 'record'],
    ['an unsupported unicode escape in jsonb', sqlError('22P05'), 'record'],
    ['a check violation', sqlError('23514'), 'record'],
    ['a value too long', sqlError('54000'), 'record'],
    ['a bug the record reaches', new TypeError("Cannot read properties of undefined (reading 'x')"), 'record'],
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
    ['something else', new Error('surprise'), 'unknown'],
  ])('%s is a %s fault', (_, error, kind) => {
    expect(faultKindOf(error)).toBe(kind);
  });
});
