/**
 * What the OpenAPI document says of each route beyond its request schemas: a summary, who may call it, and what it
 * answers, with an example of each answer. The request schemas themselves stay beside their routes (they validate);
 * this table only describes, so a wrong word here cannot change what a route accepts.
 */

import type { HttpErrorCode } from '../errors/codes.js';

/** Named in `components.securitySchemes` (openapi.ts). */
export type Credential = 'apiKey' | 'adminToken' | 'userToken' | 'twilioSignature';

export type Tag = 'events' | 'users' | 'admin' | 'webhooks' | 'templates' | 'previews' | 'operations' | 'pages';

export interface ResponseDoc {
  description: string;
  example: unknown;
  /** application/json unless said. */
  contentType?: string;
}

export interface RouteDoc {
  summary: string;
  description?: string;
  tags: [Tag];
  /** Any one of these is enough; none means the route is open. */
  security?: Credential[];
  /** An example request body, for routes that take one. */
  bodyExample?: unknown;
  responses: Record<number, ResponseDoc>;
}

const error = (
  description: string,
  example: { error: HttpErrorCode; message: string; details?: { path: string; message: string }[] },
) => ({
  description,
  example,
});

const unauthorized = error('no credentials, or ones that prove nothing', {
  error: 'unauthorized',
  message: 'missing Authorization: Bearer token',
  details: [{ path: 'authorization', message: 'required' }],
});
const forbidden = error('a user token for another person', {
  error: 'forbidden',
  message: 'this token belongs to another user',
  details: [{ path: 'userId', message: 'not yours' }],
});
const badSignature = error('the signature does not match', {
  error: 'forbidden',
  message: 'X-Twilio-Signature does not match',
  details: [{ path: 'x-twilio-signature', message: 'invalid' }],
});
const tooMany = error('too many requests from this client; retry after the Retry-After header', {
  error: 'too_many_requests',
  message: 'rate limit of 60 requests exceeded; retry in 42 seconds',
  details: [{ path: 'rate-limit', message: 'exceeded' }],
});
const unavailable = error('a dependency is away; nothing was changed, retry after the Retry-After header', {
  error: 'unavailable',
  message: 'the event queue is unavailable; nothing was accepted, retry later',
});
const badQuery = (path: string, message: string) =>
  error('a query parameter is invalid', {
    error: 'bad_request',
    message: `invalid query parameter ${path}`,
    details: [{ path, message }],
  });

const USER_CREDENTIALS: Credential[] = ['userToken', 'adminToken'];

const preferences = {
  userId: 'demo-ravi',
  channels: { whatsapp: false },
  events: { PAYMENT_COMPLETED: { email: true } },
  quietHours: { start: '22:00', end: '07:00', timezone: 'Asia/Kolkata' },
  locale: 'en',
  contact: { email: 'ravi@example.com', phone: '+919812345678', whatsappOptIn: true },
  effective: {
    BOOKING_CONFIRMED: { email: true, sms: true, whatsapp: false, websocket: true },
    BOOKING_CANCELLED: { email: true, sms: true, whatsapp: false, websocket: true },
    PAYMENT_COMPLETED: { email: true, sms: false, whatsapp: false, websocket: true },
    TRAVEL_DISRUPTION: { email: true, sms: true, whatsapp: false, websocket: true },
  },
};

const deadLetter = {
  id: 42,
  channel: 'sms',
  eventType: 'TRAVEL_DISRUPTION',
  eventId: '3f1c2a9e-4b7d-4e1a-9c55-0f7a1d2b3c4d',
  errorCode: 'TWILIO_21211',
  errorMessage: 'The To number is not a valid phone number',
  attempts: 4,
  status: 'pending',
  sourceTopic: 'travel-disruption',
  failedAt: '2026-12-01T06:12:09.000Z',
};

const redriveOutcome = { redriven: 42, alreadyDelivered: 268, skippedDiscarded: 3, skippedFailed: 11 };
const redriveJob = {
  id: 9,
  request: {
    from: '2026-12-01T06:00:00.000Z',
    to: '2026-12-01T07:00:00.000Z',
    channels: ['sms'],
    include: [],
    dryRun: false,
  },
  dryRun: false,
  status: 'done',
  progress: { partitions: 3, partitionsDone: 3, recordsInWindow: 1200, recordsRead: 1200, matched: 310 },
  outcomes: { sms: redriveOutcome },
  error: null,
  actor: 'admin',
  clientAddress: '10.0.4.17',
  createdAt: '2026-12-01T09:00:00.000Z',
  finishedAt: '2026-12-01T09:00:04.000Z',
};
const noRedrive = error('no such re-drive', { error: 'not_found', message: 'no re-drive 9' });

const statusWebhook = {
  id: 3,
  apiKey: '…7f3a',
  url: 'https://partner.example.com/hooks/delivery-status',
  statuses: ['sent', 'delivered', 'failed', 'dead_lettered'],
  createdAt: '2026-12-01T08:00:00.000Z',
  lastSuccessAt: '2026-12-01T09:14:03.000Z',
  lastFailureAt: null,
  lastError: null,
  consecutiveFailures: 0,
};
const noWebhook = error('no such webhook', { error: 'not_found', message: 'no webhook 3' });

const page = (body: string) => ({ description: 'the page', contentType: 'text/html', example: body });

/**
 * The routes that need a credential (and /auth) count every request, refused ones included, before the credential is
 * checked (rate-limits.ts): each of them may answer 429, so each says so.
 */
const rateLimited = (key: string) => /^[A-Z]+ \/(events|users|admin|auth)(\/|$)/.test(key);
const withRateLimitAnswers = (docs: Record<string, RouteDoc>): Record<string, RouteDoc> =>
  Object.fromEntries(
    Object.entries(docs).map(([key, doc]) => [
      key,
      rateLimited(key) ? { ...doc, responses: { ...doc.responses, 429: doc.responses[429] ?? tooMany } } : doc,
    ]),
  );

/** Keyed `METHOD /path` as Fastify registers it. */
export const ROUTE_DOCS: Record<string, RouteDoc> = withRateLimitAnswers({
  'GET /healthz': {
    summary: 'Liveness: the process answers',
    tags: ['operations'],
    responses: { 200: { description: 'alive', example: { status: 'ok' } } },
  },
  'GET /readyz': {
    summary: 'Readiness: every dependency answers within its timeout',
    description: 'Checks Kafka, RabbitMQ, PostgreSQL and Redis; 503 names the ones that failed.',
    tags: ['operations'],
    responses: {
      200: {
        description: 'ready',
        example: {
          status: 'ready',
          checks: { kafka: true, rabbitmq: true, redis: true, postgres: true },
          breakers: { smtp: 'closed', twilio: 'closed' },
        },
      },
      503: {
        description: 'at least one dependency did not answer',
        example: { status: 'not_ready', checks: { kafka: true, rabbitmq: true, redis: true, postgres: false } },
      },
    },
  },
  'GET /metrics': {
    summary: 'Prometheus metrics of this process',
    tags: ['operations'],
    responses: {
      200: {
        description: 'the Prometheus text format',
        contentType: 'text/plain',
        example: 'gateway_deliveries_total{channel="email",outcome="sent"} 1204\n',
      },
    },
  },
  'POST /events': {
    summary: 'Accept one event from a partner',
    description:
      'The canonical envelope or the short form (`type` and a flight or train number). 202 only once RabbitMQ has ' +
      'confirmed the persistent message. An `Idempotency-Key` makes a retry safe. An `eventTimestamp` further ' +
      "ahead of the gateway's clock than `EVENT_CLOCK_SKEW_SECONDS` (default 300) is a 400 naming it.",
    tags: ['events'],
    security: ['apiKey'],
    bodyExample: { type: 'FLIGHT_DELAY', flightNumber: 'W2121', payload: { minutes: 90, reason: 'weather' } },
    responses: {
      202: {
        description: 'accepted: it will be delivered',
        example: { eventId: '9b2d6a3e-1f4c-4d8a-8e7b-2c1d0f9a8b7c' },
      },
      400: error('the body is not one of the events', {
        error: 'invalid_event',
        message: 'the event does not match its schema',
        details: [{ path: 'payload.minutes', message: 'must be a whole number of minutes from 1 to 10080' }],
      }),
      401: error('no key, or an unknown one', {
        error: 'unauthorized',
        message: 'missing x-api-key header',
        details: [{ path: 'x-api-key', message: 'required' }],
      }),
      409: error('the Idempotency-Key or eventId was used with another body', {
        error: 'conflict',
        message: 'this Idempotency-Key was used with a different body',
        details: [{ path: 'idempotency-key', message: 'this Idempotency-Key was used with a different body' }],
      }),
      413: error('the body is over 64 KiB', { error: 'payload_too_large', message: 'the body is over 65536 bytes' }),
      429: tooMany,
      503: unavailable,
    },
  },
  'POST /auth/dev-login': {
    summary: 'A user token for anyone (development only; absent in production)',
    tags: ['users'],
    bodyExample: { userId: 'demo-ravi' },
    responses: {
      200: {
        description: 'a token for Socket.IO and the user routes',
        example: { token: 'eyJhbGciOi…', userId: 'demo-ravi' },
      },
      400: error('no usable userId', {
        error: 'bad_request',
        message: 'the body must be {"userId": "<id>"}',
        details: [{ path: 'userId', message: 'must be a string' }],
      }),
    },
  },
  'GET /users/:userId/preferences': {
    summary: "A person's channel choices, quiet hours, locale and contact, and what they mean per event",
    tags: ['users'],
    security: USER_CREDENTIALS,
    responses: { 200: { description: 'the preferences', example: preferences }, 401: unauthorized, 403: forbidden },
  },
  'PUT /users/:userId/preferences': {
    summary: 'Replace the choices (contact details are kept unless given)',
    tags: ['users'],
    security: USER_CREDENTIALS,
    bodyExample: {
      channels: { whatsapp: false },
      quietHours: { start: '22:00', end: '07:00', timezone: 'Asia/Kolkata' },
    },
    responses: {
      200: { description: 'the preferences as GET now answers', example: preferences },
      400: error('a field is invalid', {
        error: 'bad_request',
        message: 'invalid preferences',
        details: [{ path: 'quietHours.start', message: 'must be HH:MM' }],
      }),
      401: unauthorized,
      403: forbidden,
      410: error('the person was erased', {
        error: 'gone',
        message: 'this user was erased; nothing about them is stored again',
      }),
    },
  },
  'PATCH /users/:userId/preferences': {
    summary: 'Merge changes into the choices',
    tags: ['users'],
    security: USER_CREDENTIALS,
    bodyExample: { channels: { sms: false }, minDelayMinutes: 15 },
    responses: {
      200: { description: 'the preferences as GET now answers', example: preferences },
      400: error('a field is invalid', {
        error: 'bad_request',
        message: 'invalid preferences',
        details: [{ path: 'channels.fax', message: 'unknown channel' }],
      }),
      401: unauthorized,
      403: forbidden,
      410: error('the person was erased', {
        error: 'gone',
        message: 'this user was erased; nothing about them is stored again',
      }),
    },
  },
  'POST /users/:userId/itineraries': {
    summary: 'Add a journey, so disruptions to that flight or train reach this person',
    tags: ['users'],
    security: USER_CREDENTIALS,
    bodyExample: { flightNumber: 'W2121', journeyDate: '2026-12-20', pnrNumber: 'PNR4521', minDelayMinutes: 30 },
    responses: {
      201: {
        description: 'added',
        example: { id: 7, userId: 'demo-ravi', flightNumber: 'W2121', journeyDate: '2026-12-20', pnrNumber: 'PNR4521' },
      },
      400: error('not a journey', {
        error: 'bad_request',
        message: 'invalid itinerary',
        details: [{ path: '', message: 'unknown field bogus' }],
      }),
      401: unauthorized,
      403: forbidden,
    },
  },
  'DELETE /users/:userId': {
    summary: 'Erase a person: their data is deleted or masked, and they are never a recipient again',
    tags: ['users'],
    security: USER_CREDENTIALS,
    responses: {
      202: {
        description: 'erased',
        example: { userId: 'demo-ravi', erased: true, counts: { itineraries: 1, inbox: 3, deliveries: 12 } },
      },
      401: unauthorized,
      403: forbidden,
    },
  },
  'GET /users/:userId/deliveries': {
    summary: "A person's delivery history: every message sent to them, newest first, a page at a time",
    tags: ['users'],
    security: USER_CREDENTIALS,
    responses: {
      200: {
        description: 'a page; nextCursor is null on the last one',
        example: {
          items: [
            {
              id: 1042,
              eventId: '3f1c2a9e-4b7d-4e1a-9c55-0f7a1d2b3c4d',
              eventType: 'TRAVEL_DISRUPTION',
              channel: 'sms',
              status: 'delivered',
              providerId: 'SM0123456789abcdef0123456789abcdef',
              attempts: 1,
              errorCode: null,
              createdAt: '2026-12-01T06:00:01.000Z',
              updatedAt: '2026-12-01T06:00:03.000Z',
            },
          ],
          nextCursor: 'MTA0Mg',
        },
      },
      400: badQuery('limit', 'must be an integer from 1 to 100'),
      401: unauthorized,
      403: forbidden,
    },
  },
  'GET /users/:userId/inbox': {
    summary: "A person's web alerts, newest first, each read or not, with the unread count",
    tags: ['users'],
    security: USER_CREDENTIALS,
    responses: {
      200: {
        description: 'a page; nextCursor is null on the last one',
        example: {
          items: [
            {
              id: 311,
              eventId: '3f1c2a9e-4b7d-4e1a-9c55-0f7a1d2b3c4d',
              eventType: 'TRAVEL_DISRUPTION',
              title: 'Flight W2121 delayed',
              body: 'Your flight W2121 is delayed by 90 minutes.',
              severity: 'warning',
              createdAt: '2026-12-01T06:00:02.000Z',
              read: false,
            },
          ],
          unread: 1,
          nextCursor: null,
        },
      },
      400: badQuery('limit', 'must be an integer from 1 to 100'),
      401: unauthorized,
      403: forbidden,
    },
  },
  'GET /users/:userId/inbox/unread': {
    summary: 'How many of the web alerts are unread',
    tags: ['users'],
    security: USER_CREDENTIALS,
    responses: { 200: { description: 'the count', example: { unread: 3 } }, 401: unauthorized, 403: forbidden },
  },
  'POST /users/:userId/inbox/:id/read': {
    summary: "Mark one alert read; the person's other sockets get the new count (`inbox` event)",
    tags: ['users'],
    security: USER_CREDENTIALS,
    responses: {
      200: { description: 'marked (again, harmlessly, if it was)', example: { id: 311, read: true, unread: 2 } },
      401: unauthorized,
      403: forbidden,
      404: error('no such alert in this inbox', {
        error: 'not_found',
        message: 'no alert 311 in this inbox',
        details: [{ path: 'id', message: 'not found' }],
      }),
    },
  },
  'POST /users/:userId/inbox/read': {
    summary: "Mark every alert read; the person's other sockets get the count (`inbox` event)",
    tags: ['users'],
    security: USER_CREDENTIALS,
    responses: {
      200: { description: 'how many were unread', example: { marked: 3, unread: 0 } },
      401: unauthorized,
      403: forbidden,
    },
  },
  'GET /admin/events/:eventId': {
    summary: 'What happened to one event: every delivery to everyone on every channel, with each attempt, by page',
    description:
      'Newest first, limit (1 to 500, default 100) at a time; nextCursor, passed back as cursor, gives the next page ' +
      'and is null on the last. A disruption to thousands has tens of thousands of deliveries: follow the cursors.',
    tags: ['admin'],
    security: ['adminToken'],
    responses: {
      200: {
        description: 'a page of the deliveries, newest first; nextCursor is null on the last page',
        example: {
          eventId: '3f1c2a9e-4b7d-4e1a-9c55-0f7a1d2b3c4d',
          deliveries: [
            {
              id: 1043,
              userId: 'demo-ravi',
              eventType: 'TRAVEL_DISRUPTION',
              channel: 'sms',
              status: 'dead_lettered',
              providerId: null,
              attempts: 1,
              errorCode: 'TWILIO_21211',
              createdAt: '2026-12-01T06:00:01.000Z',
              updatedAt: '2026-12-01T06:00:02.000Z',
              tries: [
                {
                  attempt: 1,
                  status: 'failed',
                  providerId: null,
                  errorCode: 'TWILIO_21211',
                  errorMessage: "The 'To' number [redacted] is not a valid phone number.",
                  at: '2026-12-01T06:00:02.000Z',
                },
              ],
            },
          ],
          nextCursor: 'MTA0Mw',
        },
      },
      400: error('not an event id', {
        error: 'bad_request',
        message: 'invalid event id',
        details: [{ path: 'eventId', message: 'must be an event id (a uuid)' }],
      }),
      401: unauthorized,
      404: error('no delivery of this event was made (yet)', {
        error: 'not_found',
        message: 'no delivery of event 3f1c2a9e-4b7d-4e1a-9c55-0f7a1d2b3c4d was made',
        details: [{ path: 'eventId', message: 'no deliveries' }],
      }),
    },
  },
  'POST /webhooks/twilio/status': {
    summary: "Twilio's status callback: a message was sent, delivered or failed",
    tags: ['webhooks'],
    security: ['twilioSignature'],
    bodyExample: { MessageSid: 'SM0123456789abcdef0123456789abcdef', MessageStatus: 'delivered' },
    responses: {
      204: { description: 'recorded (or an unknown message, acknowledged)', example: '' },
      400: error('no MessageSid or status', {
        error: 'bad_request',
        message: 'invalid status callback',
        details: [{ path: 'MessageSid', message: 'required' }],
      }),
      403: badSignature,
      503: error('the send is not recorded yet; Twilio retries', {
        error: 'unavailable',
        message: 'this message is not recorded yet; retry later',
      }),
    },
  },
  'POST /webhooks/twilio/inbound': {
    summary: 'A reply from a phone: STOP and START switch SMS or WhatsApp off and on for that number',
    tags: ['webhooks'],
    security: ['twilioSignature'],
    bodyExample: { From: '+919812345678', To: '+15005550006', Body: 'STOP' },
    responses: {
      200: {
        description: 'empty TwiML',
        contentType: 'text/xml',
        example: '<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
      },
      403: badSignature,
    },
  },
  'GET /admin/dlq': {
    summary: 'List dead letters, filtered and paged by cursor',
    tags: ['admin'],
    security: ['adminToken'],
    responses: {
      200: { description: 'a page, oldest first', example: { items: [deadLetter], nextCursor: 'NDI' } },
      400: badQuery('channel', 'must be one of email, sms, whatsapp, websocket'),
      401: unauthorized,
      429: tooMany,
    },
  },
  'GET /admin/dlq/:id': {
    summary: 'One dead letter: the record, its error and its replays',
    tags: ['admin'],
    security: ['adminToken'],
    responses: {
      200: { description: 'the entry', example: deadLetter },
      401: unauthorized,
      404: error('no such entry', {
        error: 'not_found',
        message: 'no dead letter 42',
        details: [{ path: 'id', message: 'not found' }],
      }),
    },
  },
  'POST /admin/dlq/:id/replay': {
    summary: "Send one dead letter back to its channel's first retry topic (delivered at most once)",
    tags: ['admin'],
    security: ['adminToken'],
    responses: {
      202: {
        description: 'republished',
        example: { id: 42, replayedAt: '2026-12-01T07:00:00.000Z', topic: 'sms.retry.5s' },
      },
      401: unauthorized,
      404: error('no such entry', { error: 'not_found', message: 'no dead letter 42' }),
      409: error('the entry cannot be replayed', {
        error: 'conflict',
        message: 'dead letter 42 cannot be replayed: it was discarded',
        details: [{ path: 'id', message: 'it was discarded' }],
      }),
      503: error('Kafka did not take the replay', {
        error: 'unavailable',
        message: 'the replay could not be published to Kafka; the entry is unchanged, try again',
      }),
    },
  },
  'POST /admin/dlq/replay': {
    summary: 'Replay every pending dead letter a filter selects, or count them (dryRun)',
    tags: ['admin'],
    security: ['adminToken'],
    bodyExample: { filter: { channel: 'sms', errorCode: 'TWILIO_21211' }, dryRun: false, limit: 100 },
    responses: {
      200: { description: 'dry run: how many would go', example: { matched: 17 } },
      202: { description: 'replayed, oldest first', example: { matched: 17, replayed: 17, failed: 0 } },
      400: error('the filter is invalid', {
        error: 'bad_request',
        message: 'invalid body',
        details: [{ path: 'filter.channel', message: 'must be one of email, sms, whatsapp, websocket' }],
      }),
      401: unauthorized,
    },
  },
  'DELETE /admin/dlq/:id': {
    summary: 'Discard a dead letter (kept, marked discarded, and audited)',
    tags: ['admin'],
    security: ['adminToken'],
    responses: {
      204: { description: 'discarded', example: '' },
      401: unauthorized,
      404: error('no such entry', { error: 'not_found', message: 'no dead letter 42' }),
    },
  },
  'POST /admin/webhooks': {
    summary: "Register a webhook for an ingest API key's delivery statuses (answers its signing secret, once)",
    description:
      'Each status change (sent, delivered, failed, dead_lettered) of a delivery of an event the key sends from now ' +
      'on is POSTed to the url as {type: "delivery.status", timestamp, data: {deliveryId, eventId, eventType, channel, ' +
      'userId, status, providerId, errorCode, occurredAt}}, signed as Standard Webhooks sign: webhook-id, ' +
      'webhook-timestamp and webhook-signature (v1, base64 HMAC-SHA256 with the secret over id.timestamp.body). A ' +
      'notice the receiver does not answer with a 2xx is tried again with growing delays for WEBHOOK_RETRY_HOURS (24); ' +
      'the same webhook-id on every try. Deliveries never wait for it. The secret is made by the gateway unless one is ' +
      'given (whsec_ and base64 of 24 bytes or more, or 24 characters or more of plain text, its UTF-8 bytes the key).',
    tags: ['admin'],
    security: ['adminToken'],
    bodyExample: { apiKey: 'the-partners-ingest-key', url: 'https://partner.example.com/hooks/delivery-status' },
    responses: {
      201: {
        description: 'registered; keep the secret, it is not shown again',
        example: { ...statusWebhook, lastSuccessAt: null, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
      },
      400: error('the webhook is invalid', {
        error: 'bad_request',
        message: 'invalid webhook',
        details: [{ path: 'apiKey', message: 'not one of the ingest API keys' }],
      }),
      401: unauthorized,
    },
  },
  'GET /admin/webhooks': {
    summary: 'Every status webhook, with how its receiver is doing (never the secrets)',
    tags: ['admin'],
    security: ['adminToken'],
    responses: { 200: { description: 'the webhooks', example: { webhooks: [statusWebhook] } }, 401: unauthorized },
  },
  'GET /admin/webhooks/:id': {
    summary: 'One status webhook: its last success, last failure and the failures since',
    tags: ['admin'],
    security: ['adminToken'],
    responses: { 200: { description: 'the webhook', example: statusWebhook }, 401: unauthorized, 404: noWebhook },
  },
  'DELETE /admin/webhooks/:id': {
    summary: 'Remove a status webhook; notices not yet posted to it are dropped',
    tags: ['admin'],
    security: ['adminToken'],
    responses: { 204: { description: 'removed', example: '' }, 401: unauthorized, 404: noWebhook },
  },
  'POST /admin/redrive': {
    summary:
      'Re-drive a window of the log: deliver again what the ledger does not show delivered (or count it, dryRun)',
    description:
      'Reads the records Kafka retained between from and to (narrowed by topics, a flight or train and channels) and ' +
      'sends each delivery that is missing, unsettled or ran out of retries through the retry path again. A dead ' +
      'letter an operator discarded and a delivery that failed for good are left alone (counted as skippedDiscarded ' +
      'and skippedFailed) unless include names them: "discarded", "failed". The claims keep anything delivered from ' +
      'going out twice. Answers 202 with the job (GET its url for progress and counts); 429 when REDRIVE_MAX_RUNNING ' +
      'jobs run already. Every re-drive is kept, with who started it: GET /admin/redrive.',
    tags: ['admin'],
    security: ['adminToken'],
    bodyExample: {
      from: '2026-12-01T06:00:00Z',
      to: '2026-12-01T07:00:00Z',
      topics: ['travel-disruption'],
      flightNumber: 'W2121',
      channels: ['sms'],
      include: ['failed'],
      dryRun: true,
    },
    responses: {
      202: { description: 'started', example: { ...redriveJob, status: 'running', url: '/admin/redrive/9' } },
      400: error('the request is invalid', {
        error: 'bad_request',
        message: 'invalid re-drive',
        details: [{ path: 'include.0', message: 'must be one of discarded, failed' }],
      }),
      401: unauthorized,
      429: error('too many re-drives running; retry after the Retry-After header, or cancel one', {
        error: 'too_many_requests',
        message:
          '2 re-drives are running, the most allowed at once (REDRIVE_MAX_RUNNING); wait for one to end or cancel one',
        details: [{ path: 'redrive', message: 'too many running' }],
      }),
    },
  },
  'GET /admin/redrive': {
    summary: 'Every re-drive, newest first: who started it, when, what window and what it included, and its counts',
    tags: ['admin'],
    security: ['adminToken'],
    responses: {
      200: {
        description: 'a page; nextCursor is null on the last',
        example: { items: [redriveJob], nextCursor: 'OQ' },
      },
      400: badQuery('limit', 'must be an integer from 1 to 100'),
      401: unauthorized,
    },
  },
  'GET /admin/redrive/:id': {
    summary: "A re-drive's progress and, once ended, what it did per channel (and why it failed or was cancelled)",
    tags: ['admin'],
    security: ['adminToken'],
    responses: {
      200: { description: 'the job', example: redriveJob },
      401: unauthorized,
      404: noRedrive,
    },
  },
  'DELETE /admin/redrive/:id': {
    summary: 'Cancel a running re-drive: it ends cancelled, with its counts so far',
    description:
      'Whichever api runs the job stops it at its next heartbeat (about a second); records already sent to the ' +
      'retry topics are delivered.',
    tags: ['admin'],
    security: ['adminToken'],
    responses: {
      200: {
        description: 'cancelled',
        example: { ...redriveJob, status: 'cancelled', error: 'cancelled by admin from 10.0.4.17' },
      },
      401: unauthorized,
      404: noRedrive,
      409: error('the job is not running', {
        error: 'conflict',
        message: 're-drive 9 is not running: it ended done',
        details: [{ path: 'id', message: 'done' }],
      }),
    },
  },
  'GET /templates': {
    summary: 'Every template, by event, channel and locale',
    tags: ['templates'],
    responses: {
      200: {
        description: 'the templates',
        example: [
          {
            event: 'TRAVEL_DISRUPTION',
            topic: 'travel-disruption',
            channel: 'sms',
            locale: 'en',
            file: 'travel-disruption/sms.en.hbs',
            url: '/templates/TRAVEL_DISRUPTION/sms?locale=en',
          },
        ],
      },
    },
  },
  'GET /templates/:event/:channel': {
    summary: 'One template rendered with sample data (and, for SMS, its segment count)',
    tags: ['templates'],
    responses: {
      200: {
        description: 'the rendering',
        example: {
          event: 'TRAVEL_DISRUPTION',
          channel: 'sms',
          locale: 'en',
          template: 'travel-disruption/sms.en.hbs',
          text: 'Travel alert: Flight 6E2131 on Sun, 20 Dec 2026 is delayed by 90 minutes.',
          segments: { encoding: 'GSM-7', segments: 1, characters: 74 },
        },
      },
      400: badQuery('locale', 'must be one of en, hi'),
      404: error('no such event or channel', { error: 'not_found', message: 'no template for FAX' }),
    },
  },
  'GET /previews/config': {
    summary: 'Where the previews page finds the mail capture and the Twilio sandbox',
    tags: ['previews'],
    responses: {
      200: {
        description: 'the addresses',
        example: { mailPreviewUrl: 'http://127.0.0.1:1080', sandboxUrl: 'http://127.0.0.1:3100', refreshMs: 3000 },
      },
    },
  },
  'GET /previews/emails': {
    summary: 'The emails sent, from the SMTP capture (for one user when asked)',
    tags: ['previews'],
    responses: {
      200: {
        description: 'the newest first',
        example: {
          user: 'demo-ravi',
          email: 'ravi@example.com',
          mailPreviewUrl: 'http://127.0.0.1:1080',
          emails: [
            { id: 'a1b2', subject: 'Flight W2121 is delayed', to: 'ravi@example.com', date: '2026-12-01T06:00:00Z' },
          ],
        },
      },
      400: badQuery('limit', 'must be an integer from 1 to 200'),
    },
  },
  'GET /previews/messages': {
    summary: 'The SMS and WhatsApp messages sent, from the Twilio sandbox',
    tags: ['previews'],
    responses: {
      200: {
        description: 'the newest first, or why the sandbox could not be read',
        example: {
          user: 'demo-ravi',
          phone: '+919812345678',
          messages: [{ sid: 'SM01…', to: '+919812345678', body: 'Travel alert: …', status: 'delivered' }],
        },
      },
      400: badQuery('limit', 'must be an integer from 1 to 200'),
    },
  },
  'GET /previews/alerts': {
    summary: 'The live web alerts sent (the inbox)',
    tags: ['previews'],
    responses: {
      200: {
        description: 'the newest first',
        example: { user: 'demo-ravi', alerts: [{ title: 'Flight W2121 delayed', createdAt: '2026-12-01T06:00:00Z' }] },
      },
      400: badQuery('limit', 'must be an integer from 1 to 200'),
    },
  },
  'GET /alerts.html': {
    summary: 'Live alerts page: log in as a person and watch their alerts arrive',
    tags: ['pages'],
    responses: { 200: page('<!doctype html>…') },
  },
  'GET /previews.html': {
    summary: 'Every email, SMS, WhatsApp and web alert sent, side by side',
    tags: ['pages'],
    responses: { 200: page('<!doctype html>…') },
  },
  'GET /preferences.html': {
    summary: 'A person manages their channels, quiet hours and contact',
    tags: ['pages'],
    responses: { 200: page('<!doctype html>…') },
  },
  'GET /admin.html': {
    summary: "The operator's page: dead letters (inspect, replay, discard), an event's history, and re-drives",
    description: 'The page is open; everything it shows comes from the admin API, with the token typed into it.',
    tags: ['pages'],
    responses: { 200: page('<!doctype html>…') },
  },
  'GET /preferences.js': {
    summary: "The preferences page's script",
    tags: ['pages'],
    responses: {
      200: { description: 'the script', contentType: 'text/javascript', example: '// preferences page…' },
    },
  },
});
