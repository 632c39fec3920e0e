import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createFieldCipher, parseDataKeys } from './field-cipher.js';

const key = () => randomBytes(32).toString('base64');

describe('field cipher', () => {
  const hashKey = randomBytes(32);

  it('seals a value so that the stored text does not contain it, and opens it again', () => {
    const cipher = createFieldCipher({ keys: parseDataKeys(`k1:${key()}`), hashKey });
    const sealed = cipher.seal('whsec_c2VjcmV0', 'status_webhooks.secret');
    expect(sealed).not.toContain('whsec_');
    expect(sealed).not.toBe(cipher.seal('whsec_c2VjcmV0', 'status_webhooks.secret'));
    expect(cipher.open(sealed, 'status_webhooks.secret')).toBe('whsec_c2VjcmV0');
  });

  it('gives every value its own IV, across the pools the IVs are cut from, and opens each', () => {
    const cipher = createFieldCipher({ keys: parseDataKeys(`k1:${key()}`), hashKey });
    // Five pools' worth: the IV is the first part after the key id.
    const sealed = Array.from({ length: 1_800 }, (_, i) => cipher.seal(`traveller${i}@example.com`, 'users.email'));
    const ivs = sealed.map((value) => value.split(':')[3]);
    expect(new Set(ivs).size).toBe(sealed.length);
    expect(sealed.map((value) => cipher.open(value, 'users.email'))).toEqual(
      sealed.map((_, i) => `traveller${i}@example.com`),
    );
  });

  it('refuses a value moved to another column, or altered', () => {
    const cipher = createFieldCipher({ keys: parseDataKeys(`k1:${key()}`), hashKey });
    const sealed = cipher.seal('+919876543210', 'deliveries.recipient');
    expect(() => cipher.open(sealed, 'preferences.phone')).toThrow();
    const altered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'B' : 'A') + sealed.slice(-1);
    expect(() => cipher.open(altered, 'deliveries.recipient')).toThrow();
  });

  it('rotates: a new first key writes, the old one still reads, and old values are known stale', () => {
    const old = `k1:${key()}`;
    const before = createFieldCipher({ keys: parseDataKeys(old), hashKey });
    const sealedBefore = before.seal('asha@example.com', 'c');
    const after = createFieldCipher({ keys: parseDataKeys(`k2:${key()},${old}`), hashKey });
    expect(after.open(sealedBefore, 'c')).toBe('asha@example.com');
    expect(after.stale(sealedBefore)).toBe(true);
    expect(after.stale(after.seal('x', 'c'))).toBe(false);
    expect(after.seal('x', 'c')).toMatch(/^enc:v1:k2:/);
  });

  it('reads a value written before encryption as it is, and names a key it does not have', () => {
    const cipher = createFieldCipher({ keys: parseDataKeys(`k1:${key()}`), hashKey });
    expect(cipher.open('plain text', 'c')).toBe('plain text');
    const other = createFieldCipher({ keys: parseDataKeys(`k9:${key()}`), hashKey });
    expect(() => cipher.open(other.seal('x', 'c'), 'c')).toThrow(/k9/);
  });

  it('hashes equal values equally, and differently under another hash key', () => {
    const a = createFieldCipher({ keys: parseDataKeys(`k1:${key()}`), hashKey });
    const b = createFieldCipher({ keys: parseDataKeys(`k1:${key()}`), hashKey: randomBytes(32) });
    expect(a.hash('+919876543210')).toBe(a.hash('+919876543210'));
    expect(a.hash('+919876543210')).not.toBe(a.hash('+919876543211'));
    expect(a.hash('+919876543210')).not.toBe(b.hash('+919876543210'));
  });

  it('refuses keys that are not id:base64 of 32 bytes', () => {
    expect(() => parseDataKeys('nokey')).toThrow(/id:base64/);
    expect(() => parseDataKeys(`k1:${randomBytes(16).toString('base64')}`)).toThrow(/32 bytes/);
  });
});
