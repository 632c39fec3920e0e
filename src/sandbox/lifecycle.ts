import { setTimeout as sleep } from 'node:timers/promises';
import twilio from 'twilio';
import type { Logger } from '../logger.js';
import type { Faults } from './faults.js';
import { API_VERSION, type MessageStatus, type SandboxMessage } from './message.js';
import type { MessageStore } from './store.js';
import { DELIVERY_ERROR_MESSAGES } from './twilio-errors.js';

/** When the carrier "answers", counted from creation; short, so tests see the whole life of a message quickly. */
export interface LifecycleTiming {
  sentAfterMs: number;
  deliveredAfterMs: number;
  /** Twilio gives a status callback 15 s; the sandbox gives up sooner so a dead receiver cannot pile up requests. */
  callbackTimeoutMs: number;
}

export const DEFAULT_TIMING: LifecycleTiming = { sentAfterMs: 50, deliveredAfterMs: 150, callbackTimeoutMs: 5_000 };

export interface Lifecycle {
  /** Moves a new message through sent → delivered (or its injected fate), posting each status to its callback. */
  start(message: SandboxMessage, statusCallback: string | undefined): void;
}

interface LifecycleDeps {
  store: MessageStore;
  faults: Faults;
  authToken: string;
  logger: Logger;
  timing: LifecycleTiming;
  /** Aborted when the sandbox closes: pending timers and callbacks end quietly instead of outliving it. */
  signal: AbortSignal;
}

type Fate = { status: MessageStatus; errorCode?: number };

export function createLifecycle(deps: LifecycleDeps): Lifecycle {
  const { store, faults, timing, signal } = deps;
  const post = (url: string, message: SandboxMessage) => postStatusCallback(deps, url, message);

  async function run(sid: string, fates: Fate[], statusCallback: string | undefined): Promise<void> {
    let elapsed = 0;
    for (const [index, fate] of fates.entries()) {
      const at = index === 0 ? timing.sentAfterMs : timing.deliveredAfterMs;
      await sleep(Math.max(0, at - elapsed), undefined, { signal });
      elapsed = at;
      const message = store.update(sid, patchFor(fate));
      // Cleared from the store (a test reset it): its story ends here, as Twilio's would for a deleted message.
      if (!message) return;
      if (statusCallback && !faults.dropsCallbacks()) await post(statusCallback, message);
    }
  }

  return {
    start(message, statusCallback) {
      // The fate is decided at creation, so switching a fault on later does not rewrite messages already in flight.
      const fates = fatesFor(faults, message.to);
      run(message.sid, fates, statusCallback).catch((error: unknown) => {
        if (!signal.aborted) deps.logger.error({ err: error, sid: message.sid }, 'sandbox message lifecycle failed');
      });
    },
  };
}

function fatesFor(faults: Faults, to: string): Fate[] {
  const undeliverable = faults.undeliverableFor(to);
  if (!undeliverable) return [{ status: 'sent' }, { status: 'delivered' }];
  const failure = { status: undeliverable.status, errorCode: undeliverable.code };
  // A failed message never left Twilio; an undelivered one was sent and then lost by the carrier.
  return undeliverable.status === 'failed' ? [failure] : [{ status: 'sent' }, failure];
}

function patchFor(fate: Fate): Partial<SandboxMessage> {
  const patch: Partial<SandboxMessage> = { status: fate.status };
  if (fate.status === 'sent') patch.dateSent = new Date();
  if (fate.errorCode !== undefined) {
    patch.errorCode = fate.errorCode;
    patch.errorMessage = DELIVERY_ERROR_MESSAGES[fate.errorCode] ?? 'Unknown error';
  }
  return patch;
}

/** The form Twilio posts to a StatusCallback URL. */
export function statusCallbackParams(message: SandboxMessage): Record<string, string> {
  const params: Record<string, string> = {
    MessageSid: message.sid,
    SmsSid: message.sid,
    AccountSid: message.accountSid,
    MessageStatus: message.status,
    SmsStatus: message.status,
    To: message.to,
    ApiVersion: API_VERSION,
  };
  if (message.from) params.From = message.from;
  if (message.messagingServiceSid) params.MessagingServiceSid = message.messagingServiceSid;
  if (message.errorCode !== null) params.ErrorCode = String(message.errorCode);
  return params;
}

/** Posts one status, signed with the SDK's own algorithm so the gateway's check is tested against the real thing. */
async function postStatusCallback(deps: LifecycleDeps, url: string, message: SandboxMessage): Promise<void> {
  const params = statusCallbackParams(message);
  const log = { sid: message.sid, status: message.status, callbackHost: new URL(url).host };
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': 'TwilioProxy/1.1',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(deps.authToken, url, params),
      },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.any([deps.signal, AbortSignal.timeout(deps.timing.callbackTimeoutMs)]),
    });
    await response.body?.cancel();
    // Twilio records a failed callback as error 11200 and carries on; so does the sandbox.
    if (!response.ok) deps.logger.warn({ ...log, httpStatus: response.status }, 'status callback refused (11200)');
  } catch (error) {
    if (!deps.signal.aborted) deps.logger.warn({ ...log, err: error }, 'status callback failed (11200)');
  }
}
