import { describe, expect, it } from 'vitest';
import { partOf } from './fan-out.js';

const withPart = (value: string | undefined) => ({ headers: value === undefined ? {} : { 'x-fan-out-part': value } });

describe('partOf', () => {
  it('reads the part a fan-out record delivers', () => {
    expect(partOf(withPart('0/12'))).toEqual({ index: 0, count: 12 });
    expect(partOf(withPart('11/12'))).toEqual({ index: 11, count: 12 });
    expect(partOf({ headers: { 'x-fan-out-part': Buffer.from('3/4') } })).toEqual({ index: 3, count: 4 });
  });

  it('takes a header it cannot read as none: the record then reaches every traveller, as the event would', () => {
    for (const value of [undefined, '', '12/12', '1/0', '-1/3', 'a/b', '1/2/3', '1.5/3', '1000/1001'])
      expect(partOf(withPart(value)), String(value)).toBeUndefined();
  });
});
