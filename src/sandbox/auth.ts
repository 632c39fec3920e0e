import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { TWILIO_ERRORS } from './twilio-errors.js';

/**
 * Twilio's API authenticates every request with HTTP Basic (account SID : auth token), and an account may only
 * reach its own resources: a request for another account's path fails the same way as a wrong token.
 */
export function createBasicAuth(accountSid: string, authToken: string): (request: FastifyRequest) => void {
  const expected = digest(`${accountSid}:${authToken}`);
  return (request) => {
    const given = credentialsOf(request.headers.authorization);
    const pathSid = (request.params as { AccountSid?: string }).AccountSid;
    // Digests have equal lengths, so the comparison takes the same time whatever was sent.
    const valid = given !== undefined && timingSafeEqual(digest(given), expected);
    if (!valid || pathSid !== accountSid) throw TWILIO_ERRORS.authenticate();
  };
}

function credentialsOf(header: string | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  return match?.[1] ? Buffer.from(match[1], 'base64').toString('utf8') : undefined;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
