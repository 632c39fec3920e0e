import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Whether a presented secret is one of `secrets`, compared as SHA-256 digests of equal length, so the time taken
 * says nothing about how much of a guess was right, nor how long the secret is.
 */
export function secretMatcher(secrets: readonly string[]): (candidate: string) => boolean {
  const known = secrets.map(digest);
  return (candidate) => {
    const given = digest(candidate);
    // Every key is compared, so the time does not say which one matched either.
    return known.reduce((found, key) => timingSafeEqual(key, given) || found, false);
  };
}
