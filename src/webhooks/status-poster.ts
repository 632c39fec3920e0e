import http from 'node:http';
import https from 'node:https';
import { GatewayError } from '../errors/gateway-error.js';
import type { StatusNotice } from '../store/status-outbox.js';
import { WebhookAddressRefusedError, type AddressGuard } from './address-guard.js';
import { signedHeaders } from './signing.js';

/** The receiver answered, but not with a 2xx: tried again later, as any failure to post is. */
export class WebhookRejectedError extends GatewayError<'WEBHOOK_REJECTED'> {
  constructor(readonly status: number) {
    super(`the receiver answered HTTP ${status}`, { code: 'WEBHOOK_REJECTED', retriable: true });
    this.name = 'WebhookRejectedError';
  }
}

/** No answer: refused, unresolvable, reset, or slower than the timeout. */
export class WebhookUnreachableError extends GatewayError<'WEBHOOK_UNREACHABLE'> {
  constructor(cause: unknown, timedOut = false) {
    super(`the receiver ${timedOut ? 'timed out' : 'could not be reached'}`, {
      code: 'WEBHOOK_UNREACHABLE',
      retriable: true,
      cause,
    });
    this.name = 'WebhookUnreachableError';
  }
}

/** What the receiver gets: the status change, without the person's address or the message (ids only). */
export function noticeBody(notice: StatusNotice): string {
  const { noticeId: _id, webhookId: _webhook, ...data } = notice;
  return JSON.stringify({ type: 'delivery.status', timestamp: notice.occurredAt, data });
}

/**
 * Posts one notice, signed afresh at each attempt (the timestamp is the attempt's, the body and `webhook-id` are the
 * notice's). Redirects are not followed: a receiver that moved is re-registered by an operator, not guessed at. The
 * connection goes only to addresses `guard` lets through (node:http, whose `lookup` can be given per request).
 */
export async function postNotice(
  target: { url: string; secret: string },
  notice: StatusNotice,
  { timeoutMs, guard }: { timeoutMs: number; guard: AddressGuard },
): Promise<void> {
  const url = new URL(target.url);
  guard.checkHost(url.hostname);
  const body = noticeBody(notice);
  const timeout = AbortSignal.timeout(timeoutMs);
  let status: number;
  try {
    status = await new Promise<number>((resolve, reject) => {
      const request = (url.protocol === 'https:' ? https : http).request(
        url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'user-agent': 'notification-gateway-webhooks',
            ...signedHeaders(target.secret, notice.noticeId, body),
          },
          lookup: guard.lookup,
          signal: timeout,
        },
        (response) => {
          // The receiver's answer is not read: only its status counts, and the connection is freed.
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  } catch (error) {
    if (error instanceof WebhookAddressRefusedError) throw error;
    throw new WebhookUnreachableError(error, timeout.aborted);
  }
  if (status < 200 || status > 299) throw new WebhookRejectedError(status);
}
