import { describe, expect, it } from 'vitest';
import { bearerToken } from './bearer.js';

const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhc2hhIn0.c2lnbmF0dXJl';

describe('bearerToken', () => {
  it.each<[string, string | undefined, string | undefined]>([
    ['the usual form', `Bearer ${jwt}`, jwt],
    ['a lower-case scheme', 'bearer dev-admin-token', 'dev-admin-token'],
    ['an upper-case scheme', 'BEARER dev-admin-token', 'dev-admin-token'],
    ['a mixed-case scheme', 'bEaReR dev-admin-token', 'dev-admin-token'],
    ['b64token characters and padding', 'Bearer a-b.c_d~e+f/g==', 'a-b.c_d~e+f/g=='],
    ['other visible characters, as an operator may choose', 'Bearer s3cr3t!#$%', 's3cr3t!#$%'],
    ['whitespace around the value', `  Bearer ${jwt}\t`, jwt],
    ['no header', undefined, undefined],
    ['an empty header', '', undefined],
    ['the scheme alone', 'Bearer', undefined],
    ['the scheme and a space', 'Bearer ', undefined],
    ['two spaces', 'Bearer  dev-admin-token', undefined],
    ['a tab instead of the space', 'Bearer\tdev-admin-token', undefined],
    ['no space', 'Bearerdev-admin-token', undefined],
    ['a token with a space in it', 'Bearer dev admin', undefined],
    ['another scheme', 'Basic ZGV2OmFkbWlu', undefined],
    ['a scheme that only starts like it', 'Bearers dev-admin-token', undefined],
    ['a token alone', 'dev-admin-token', undefined],
  ])('%s: %j → %j', (_, header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});
