/**
 * The scheme is case-insensitive, as RFC 7235 §2.1 says of every auth scheme ("bearer" and "BEARER" are Bearer); one
 * space, then the token (RFC 6750 §2.1). RFC 6750 narrows the token to b64token; any run of non-space characters is
 * taken here, because ADMIN_TOKEN is whatever the operator chose and the comparison that follows decides anyway.
 */
const BEARER = /^bearer (\S+)$/i;

/**
 * The token of an `Authorization: Bearer <token>` header, or undefined when there is none: no header, another scheme
 * (Basic), or no token. The one parser for the admin and the user guards, so they cannot disagree on what a token is.
 */
export function bearerToken(authorization: string | undefined): string | undefined {
  // Whitespace around a field value is not part of it (RFC 9110 §5.5); Node strips it, an injected request may not.
  return authorization === undefined ? undefined : BEARER.exec(authorization.trim())?.[1];
}
