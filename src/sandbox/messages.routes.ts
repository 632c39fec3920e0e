import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyPluginAsync } from 'fastify';
import { createBasicAuth } from './auth.js';
import type { Faults } from './faults.js';
import type { Lifecycle } from './lifecycle.js';
import { listPage, parseListQuery } from './list-query.js';
import { messagesPath, newMessageSid, toResource, type SandboxMessage } from './message.js';
import { countSegments } from '../templates/segments.js';
import type { MessageStore } from './store.js';
import { TWILIO_ERRORS } from './twilio-errors.js';
import { validateCreate, type CreateRequest } from './validation.js';

export interface MessagesRoutesOptions {
  accountSid: string;
  authToken: string;
  store: MessageStore;
  faults: Faults;
  lifecycle: Lifecycle;
  signal: AbortSignal;
}

type AccountParams = { AccountSid: string };
type MessageParams = AccountParams & { MessageSid: string };
type Query = Record<string, string | string[] | undefined>;

/** Twilio's Messages API (2010-04-01): create, list, fetch; the paths and shapes the twilio SDK expects. */
export const messagesRoutes: FastifyPluginAsync<MessagesRoutesOptions> = async (app, options) => {
  const { accountSid, store, faults, lifecycle } = options;
  const authenticate = createBasicAuth(accountSid, options.authToken);
  // onRequest: a request without credentials is refused before its body is read.
  app.addHook('onRequest', async (request) => authenticate(request));

  app.post<{ Params: AccountParams; Body: Record<string, string> }>('/Messages.json', async (request, reply) => {
    const form = request.body ?? {};
    const latency = faults.latencyMs();
    if (latency > 0) await sleep(latency, undefined, { signal: options.signal });
    const failure = faults.takeFailure(form.To?.trim());
    if (failure) throw failure;
    const input = validateCreate(form);
    const message = newMessage(accountSid, input);
    store.add(message);
    lifecycle.start(message, input.statusCallback);
    return reply.code(201).send(toResource(message));
  });

  app.get<{ Params: AccountParams; Querystring: Query }>('/Messages.json', async (request) => {
    const query = parseListQuery(request.query);
    const { items, ...envelope } = listPage(`${messagesPath(accountSid)}.json`, query, store.list(query.match));
    const page = { ...envelope, messages: items.map(toResource) };
    // Read first, answered late: a message created meanwhile is not in this page, as on a slow network.
    const latency = faults.listLatencyMs();
    if (latency > 0) await sleep(latency, undefined, { signal: options.signal });
    return page;
  });

  app.get<{ Params: MessageParams }>('/Messages/:MessageSid.json', async (request) => {
    const message = store.get(request.params.MessageSid);
    if (!message) throw TWILIO_ERRORS.notFound(request.url.split('?')[0] ?? request.url);
    return toResource(message);
  });
};

function newMessage(accountSid: string, input: CreateRequest): SandboxMessage {
  const now = new Date();
  return {
    sid: newMessageSid(),
    accountSid,
    to: input.to,
    from: input.from,
    messagingServiceSid: input.messagingServiceSid,
    body: input.body,
    // Twilio answers `accepted` when a Messaging Service will pick the sender, `queued` when the sender is given.
    status: input.from ? 'queued' : 'accepted',
    numSegments: countSegments(input.body).segments,
    errorCode: null,
    errorMessage: null,
    dateCreated: now,
    dateUpdated: now,
    dateSent: null,
  };
}
