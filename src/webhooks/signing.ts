import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/**
 * Status notices are signed as Standard Webhooks (standardwebhooks.com) sign them, so receivers can verify them with
 * that project's libraries: `webhook-signature` is `v1,` and the base64 HMAC-SHA256, keyed by the secret, of
 * `<webhook-id>.<webhook-timestamp>.<body>`. The timestamp (Unix seconds) is signed with the body, so a captured
 * notice cannot be replayed later than the receiver's tolerance (five minutes in those libraries).
 */

/** A new signing secret, when the operator brings none: `whsec_` and 32 random bytes in base64. */
export const newSigningSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/**
 * Whether an operator's own secret can key the HMAC: a `whsec_` one must be base64 of 24 bytes or more (as Standard
 * Webhooks' libraries read it); any other is taken as it is, its UTF-8 bytes the key, and must be 24 characters or more.
 */
export function secretProblem(secret: string): string | undefined {
  if (!secret.startsWith('whsec_')) return secret.length >= 24 ? undefined : 'must be at least 24 characters';
  const encoded = secret.slice('whsec_'.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return 'after whsec_, must be base64';
  return Buffer.from(encoded, 'base64').length >= 24 ? undefined : 'after whsec_, must be at least 24 bytes of base64';
}

export function signedHeaders(secret: string, id: string, body: string, now = new Date()): Record<string, string> {
  const hook = secret.startsWith('whsec_')
    ? new Webhook(secret)
    : new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' });
  const signature = hook.sign(id, now, body);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signature,
  };
}
