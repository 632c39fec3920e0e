import { randomBytes } from 'node:crypto';

/** The statuses an outbound message passes through on Twilio (`accepted` only when sent via a Messaging Service). */
export type MessageStatus = 'accepted' | 'queued' | 'sending' | 'sent' | 'delivered' | 'undelivered' | 'failed';

/** A message the sandbox accepted, as it keeps it; `toResource` gives the JSON Twilio would answer. */
export interface SandboxMessage {
  sid: string;
  accountSid: string;
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  status: MessageStatus;
  numSegments: number;
  errorCode: number | null;
  errorMessage: string | null;
  dateCreated: Date;
  dateUpdated: Date;
  /** Set when the message leaves for the carrier (status `sent`), as on Twilio: null while queued. */
  dateSent: Date | null;
}

/** Twilio's Message resource, field for field (snake_case; counts are strings, as Twilio sends them). */
export interface MessageResource {
  sid: string;
  account_sid: string;
  api_version: '2010-04-01';
  to: string;
  from: string | null;
  messaging_service_sid: string | null;
  body: string;
  status: MessageStatus;
  num_segments: string;
  num_media: string;
  direction: 'outbound-api';
  date_created: string;
  date_updated: string;
  date_sent: string | null;
  price: null;
  price_unit: 'USD';
  error_code: number | null;
  error_message: string | null;
  uri: string;
  subresource_uris: { media: string; feedback: string };
}

export const API_VERSION = '2010-04-01';

/** `SM` + 32 lowercase hex digits, like Twilio's. */
export function newMessageSid(): string {
  return `SM${randomBytes(16).toString('hex')}`;
}

/** RFC 2822 with a numeric zone, the exact form Twilio uses: `Thu, 30 Jul 2015 20:12:31 +0000`. */
export function toRfc2822(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

export function messagesPath(accountSid: string): string {
  return `/${API_VERSION}/Accounts/${accountSid}/Messages`;
}

export function toResource(message: SandboxMessage): MessageResource {
  const base = `${messagesPath(message.accountSid)}/${message.sid}`;
  return {
    sid: message.sid,
    account_sid: message.accountSid,
    api_version: API_VERSION,
    to: message.to,
    from: message.from,
    messaging_service_sid: message.messagingServiceSid,
    body: message.body,
    status: message.status,
    num_segments: String(message.numSegments),
    num_media: '0',
    direction: 'outbound-api',
    date_created: toRfc2822(message.dateCreated),
    date_updated: toRfc2822(message.dateUpdated),
    date_sent: message.dateSent ? toRfc2822(message.dateSent) : null,
    price: null,
    price_unit: 'USD',
    error_code: message.errorCode,
    error_message: message.errorMessage,
    uri: `${base}.json`,
    subresource_uris: { media: `${base}/Media.json`, feedback: `${base}/Feedback.json` },
  };
}
