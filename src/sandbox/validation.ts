import { isValidPhoneNumber } from 'libphonenumber-js/max';
import { channelOf, phoneOf } from './address.js';
import { TWILIO_ERRORS } from './twilio-errors.js';

/** A create request that passed Twilio's checks. */
export interface CreateRequest {
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  statusCallback: string | undefined;
}

/** Twilio refuses longer bodies outright rather than splitting them further. */
export const MAX_BODY_CHARACTERS = 1600;

/**
 * Checks a `POST …/Messages.json` form as Twilio does, in Twilio's order, throwing its error for the first problem.
 * Numbers are judged with libphonenumber's full metadata ("max"), which knows which ranges each country assigns:
 * that is the rule Twilio applies for 21211, and the one the gateway's E.164 normalisation deliberately leaves to it.
 */
export function validateCreate(form: Record<string, string>): CreateRequest {
  const to = form.To?.trim();
  if (!to) throw TWILIO_ERRORS.toRequired();
  if (!isValidPhoneNumber(phoneOf(to))) throw TWILIO_ERRORS.invalidTo(to);

  const from = form.From?.trim() || null;
  const messagingServiceSid = form.MessagingServiceSid?.trim() || null;
  if (!from && !messagingServiceSid) throw TWILIO_ERRORS.fromRequired();
  if (from && channelOf(from) !== channelOf(to)) throw TWILIO_ERRORS.channelMismatch();

  const body = form.Body ?? '';
  if (body === '') throw TWILIO_ERRORS.bodyRequired();
  if (Array.from(body).length > MAX_BODY_CHARACTERS) throw TWILIO_ERRORS.bodyTooLong();

  const statusCallback = form.StatusCallback?.trim() || undefined;
  if (statusCallback !== undefined && !isHttpUrl(statusCallback)) throw TWILIO_ERRORS.invalidCallback();
  return { to, from, messagingServiceSid, body, statusCallback };
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}
