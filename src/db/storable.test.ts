import { describe, expect, it } from 'vitest';
import { storableJson, storableText } from './storable.js';

describe('storable', () => {
  it.each([
    ['A\u0000B', 'A\ufffdB'],
    ['x\ud800y', 'x\ufffdy'],
    ['x\udfffy', 'x\ufffdy'],
    ['pair \ud83d\ude86 kept', 'pair \ud83d\ude86 kept'],
    ['plain', 'plain'],
  ])('%j becomes %j', (input, output) => {
    expect(storableText(input)).toBe(output);
  });

  it('cleans keys and values at every depth, and keeps the rest as it was', () => {
    expect(storableJson({ 'k\u0000': ['\ud800', 1, null, { deep: 'a\u0000' }], n: 2 })).toEqual({
      'k\ufffd': ['\ufffd', 1, null, { deep: 'a\ufffd' }],
      n: 2,
    });
  });
});
