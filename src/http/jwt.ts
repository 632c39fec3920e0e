import { errors, jwtVerify, SignJWT } from 'jose';
import { GatewayError } from '../errors/gateway-error.js';

/** Why a user token was refused; `TOKEN_EXPIRED` tells a client that logging in again will help. */
export type AuthErrorCode = 'TOKEN_INVALID' | 'TOKEN_EXPIRED';

/** A user token that cannot be trusted: forged, malformed, without a usable `sub`, or past its `exp`. */
export class AuthError extends GatewayError<AuthErrorCode> {
  // Logging in again helps with an expired token, but the same token never passes: not retriable.
  declare readonly retriable: false;
  constructor(code: AuthErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, { code, retriable: false, ...options });
    this.name = 'AuthError';
  }
}

/** Longest userId accepted in a token; the same bound as dev-login's. */
export const MAX_USER_ID_LENGTH = 128;

/** Control characters (NUL among them) and lone surrogates: PostgreSQL refuses some, logs and pages mangle the rest. */
const UNUSABLE_IN_ID = /[\p{Cc}\p{Cs}]/u;

/** Why a string cannot be a userId (in a token, a URL or dev-login's body), or undefined if it can. */
export function userIdProblem(userId: string): string | undefined {
  if (userId.length === 0) return 'must not be empty';
  if (userId.length > MAX_USER_ID_LENGTH) return `must be at most ${MAX_USER_ID_LENGTH} characters`;
  if (UNUSABLE_IN_ID.test(userId)) return 'must not contain control characters (such as NUL) or invalid Unicode';
  return undefined;
}

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
  const { userId } = await verifyUserSession(secret, token);
  return { userId };
}

/** Like verifyUserToken, with the moment the token stops being valid: a live socket is closed then. */
export async function verifyUserSession(secret: string, token: string): Promise<{ userId: string; expiresAt: Date }> {
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
  if (typeof sub !== 'string' || userIdProblem(sub)) {
    throw new AuthError('TOKEN_INVALID', 'token has no usable sub');
  }
  // requiredClaims has made sure exp is there, and jose that it is a number.
  return { userId: sub, expiresAt: new Date(payload.exp! * 1000) };
}
