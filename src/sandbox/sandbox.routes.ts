import type { FastifyPluginAsync } from 'fastify';
import { addressMatches, channelOf, phoneOf, type SandboxChannel } from './address.js';
import type { Faults, FaultsInput } from './faults.js';
import type { SandboxMessage } from './message.js';
import type { MessageStore } from './store.js';

/**
 * The sandbox's own controls, outside Twilio's API and without its auth: tests switch faults on and reset state,
 * and the preview page reads the conversations. The sandbox listens on 127.0.0.1 unless told otherwise.
 */
export interface SandboxRoutesOptions {
  store: MessageStore;
  faults: Faults;
}

/** One person's conversation as the preview page shows it: SMS and WhatsApp to the same number together. */
export interface Thread {
  number: string;
  messages: ThreadMessage[];
}

export interface ThreadMessage {
  sid: string;
  channel: SandboxChannel;
  to: string;
  from: string | null;
  body: string;
  status: string;
  numSegments: number;
  errorCode: number | null;
  errorMessage: string | null;
  dateCreated: string;
}

/** The preview refreshes every 2 s; past this many messages it shows the newest only. */
const DEFAULT_PREVIEW_LIMIT = 500;

export const sandboxRoutes: FastifyPluginAsync<SandboxRoutesOptions> = async (app, { store, faults }) => {
  app.get('/sandbox/faults', async () => faults.snapshot());
  app.post<{ Body: FaultsInput }>('/sandbox/faults', async (request) => {
    faults.set(request.body ?? {});
    return faults.snapshot();
  });
  app.delete('/sandbox/faults', async (_request, reply) => {
    faults.clear();
    return reply.code(204).send();
  });
  app.delete('/sandbox/messages', async (_request, reply) => {
    store.clear();
    return reply.code(204).send();
  });
  app.get<{ Querystring: { to?: string; limit?: string } }>('/sandbox/messages', async (request) => {
    const { limit } = request.query;
    const to = restorePlus(request.query.to?.trim());
    const max = Math.max(1, Math.min(Number(limit) || DEFAULT_PREVIEW_LIMIT, 5_000));
    const messages = store.list((m) => !to || addressMatches(to, m.to)).slice(0, max);
    return { threads: groupThreads(messages) };
  });
};

/** A "+" typed into a query string (`?to=+1415…`) arrives decoded as a space; people mean the plus. */
function restorePlus(to: string | undefined): string | undefined {
  return to?.replace(/^(whatsapp:)?\s*(?=\d)/, (_match, prefix: string | undefined) => `${prefix ?? ''}+`);
}

/** Groups messages (newest first) by phone number; threads come out ordered by their newest message. */
export function groupThreads(newestFirst: SandboxMessage[]): Thread[] {
  const threads = new Map<string, Thread>();
  for (const message of newestFirst) {
    const number = phoneOf(message.to);
    const thread = threads.get(number) ?? { number, messages: [] };
    thread.messages.push(toThreadMessage(message));
    threads.set(number, thread);
  }
  return [...threads.values()];
}

function toThreadMessage(message: SandboxMessage): ThreadMessage {
  return {
    sid: message.sid,
    channel: channelOf(message.to),
    to: message.to,
    from: message.from,
    body: message.body,
    status: message.status,
    numSegments: message.numSegments,
    errorCode: message.errorCode,
    errorMessage: message.errorMessage,
    dateCreated: message.dateCreated.toISOString(),
  };
}
