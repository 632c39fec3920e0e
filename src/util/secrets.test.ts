import { describe, expect, it } from 'vitest';
import { secretMatcher } from './secrets.js';

describe('secretMatcher', () => {
  const isKnown = secretMatcher(['first-key-0123456789', 'second-key-0123456789']);
  it.each([
    ['the first key', 'first-key-0123456789', true],
    ['the second key', 'second-key-0123456789', true],
    ['a prefix of a key', 'first-key', false],
    ['a key with more after it', 'first-key-0123456789x', false],
    ['another case', 'FIRST-KEY-0123456789', false],
    ['nothing', '', false],
  ])('%s → %s', (_name, candidate, expected) => {
    expect(isKnown(candidate)).toBe(expected);
  });

  it('knows nothing when given no secrets', () => {
    expect(secretMatcher([])('anything')).toBe(false);
  });
});
