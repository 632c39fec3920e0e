import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/**
 * Status notices are signed as Standard Webhooks (standardwebhooks.com) sign them, so receivers can verify them with
 * that project's libraries: `webhook-signature` is `v1,` and the base64 HMAC-SHA256, keyed by the secret, of
 * `<webhook-id>.<webhook-timestamp>.<body>`. The timestamp (Unix seconds) is signed with the body, so a captured
 * notice cannot be replayed later than the receiver's tolerance (five minutes in those libraries).
 */

/** A new signing secret: `whsec_` and 32 random bytes in base64. */
export const newSigningSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

export function signedHeaders(secret: string, id: string, body: string, now = new Date()): Record<string, string> {
  const signature = new Webhook(secret).sign(id, now, body);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signature,
  };
}
