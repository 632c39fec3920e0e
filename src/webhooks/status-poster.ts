import { GatewayError } from '../errors/gateway-error.js';
import type { StatusNotice } from '../store/status-outbox.js';
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
  constructor(cause: unknown) {
    const reason = (cause as Error)?.name === 'TimeoutError' ? 'timed out' : 'could not be reached';
    super(`the receiver ${reason}`, { code: 'WEBHOOK_UNREACHABLE', retriable: true, cause });
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
 * notice's). Redirects are not followed: a receiver that moved is re-registered by an operator, not guessed at.
 */
export async function postNotice(
  target: { url: string; secret: string },
  notice: StatusNotice,
  timeoutMs: number,
): Promise<void> {
  const body = noticeBody(notice);
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'notification-gateway-webhooks',
        ...signedHeaders(target.secret, notice.noticeId, body),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new WebhookUnreachableError(error);
  }
  // The receiver's answer is not read: only its status counts, and the connection is freed.
  await response.body?.cancel().catch(() => {});
  if (response.status < 200 || response.status > 299) throw new WebhookRejectedError(response.status);
}
