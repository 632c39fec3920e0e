import { errors, jwtVerify, SignJWT } from 'jose';

/** Why a user token was refused; `TOKEN_EXPIRED` tells a client that logging in again will help. */
export type AuthErrorCode = 'TOKEN_INVALID' | 'TOKEN_EXPIRED';

/** A user token that cannot be trusted: forged, malformed, without a usable `sub`, or past its `exp`. */
export class AuthError extends Error {
  constructor(
    readonly code: AuthErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AuthError';
  }
}

/** Longest userId accepted in a token; the same bound as dev-login's. */
export const MAX_USER_ID_LENGTH = 128;

const ALGORITHM = 'HS256';
/** Two api nodes' clocks may disagree by a few seconds; more than that is an expired token. */
const CLOCK_TOLERANCE_SECONDS = 5;

const keyOf = (secret: string) => new TextEncoder().encode(secret);

/**
 * Signs a user token (HS256, `sub` = userId). `expiresIn` is a jose time span ('12h', '15m', '-1m' for a token that
 * is already expired) or an absolute Date.
 */
export async function signUserToken(
  secret: string,
  userId: string,
  { expiresIn = '12h' }: { expiresIn?: string | Date } = {},
): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(keyOf(secret));
}

/**
 * Verifies a user token and returns its userId. Only HS256 is accepted (so neither `alg: none` nor an algorithm
 * confusion gets through), and `exp` and a string `sub` are required: a token that never expires is refused.
 */
export async function verifyUserToken(secret: string, token: string): Promise<{ userId: string }> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, keyOf(secret), {
      algorithms: [ALGORITHM],
      requiredClaims: ['sub', 'exp'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw new AuthError('TOKEN_EXPIRED', 'token expired', { cause: error });
    throw new AuthError('TOKEN_INVALID', 'token invalid', { cause: error });
  }
  const { sub } = payload;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_USER_ID_LENGTH) {
    throw new AuthError('TOKEN_INVALID', 'token has no usable sub');
  }
  return { userId: sub };
}
