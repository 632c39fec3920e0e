import type { FastifyInstance } from 'fastify';
import type { FieldCipher } from '../util/field-cipher.js';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type pg from 'pg';
import { z } from 'zod';
import { toAlert } from '../channels/alert-contract.js';
import type { Config } from '../config.js';
import { createInboxRepository } from '../store/inbox.repository.js';
import { createUsersRepository, type UserContact } from '../store/users.repository.js';
import { invalidQueryParameter, refusing } from './route-schemas.js';

/**
 * One number's SMS and WhatsApp as `GET /sandbox/messages` answers them: the sandbox is an outside party reached over
 * HTTP, so only the fields this page reads are named here.
 */
interface SandboxThread {
  number: string;
  messages: Array<{ channel: string } & Record<string, unknown>>;
}

export interface PreviewsRoutesOptions {
  config: Pick<Config, 'NODE_ENV' | 'MAIL_PREVIEW_URL' | 'TWILIO_API_BASE_URL'>;
  pool: pg.Pool;
  /** Opens the contact details and alerts it shows. */
  cipher: FieldCipher;
  /** How long a sandbox (MailDev, the Twilio sandbox) may take before its column says "unavailable". */
  fetchTimeoutMs?: number;
}

/** A part of the page whose source could not be reached: the rest of the page still shows. */
export interface Unavailable {
  unavailable: true;
  reason: string;
}

/** One email as MailDev's REST API gives it (the fields the page uses). */
interface MaildevEmail {
  id: string;
  subject?: string;
  html?: string;
  text?: string;
  date?: string;
  time?: string;
  from?: Array<{ address: string; name?: string }>;
  to?: Array<{ address: string; name?: string }>;
}

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 50;

/** `?user=` (a userId, or part of an address or number; blank means everyone) and `?limit=` (1 to 50, default 10). */
const previewQuery = refusing(
  z.object({
    user: z
      .string()
      .optional()
      .transform((value) => value?.trim() || undefined),
    limit: z
      .string()
      .optional()
      .transform((value, ctx) => {
        if (value === undefined || value === '') return DEFAULT_LIMIT;
        const limit = Number(value);
        if (Number.isInteger(limit) && limit >= 1 && limit <= MAX_LIMIT) return limit;
        ctx.addIssue({ code: 'custom', message: `must be an integer from 1 to ${MAX_LIMIT}` });
        return z.NEVER;
      }),
  }),
  { message: invalidQueryParameter },
);

async function getJson(
  url: string,
  timeoutMs: number,
): Promise<{ ok: true; body: unknown } | ({ ok: false } & Unavailable)> {
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: 'application/json' },
    });
    if (!response.ok)
      return { ok: false, unavailable: true, reason: `${new URL(url).origin} answered HTTP ${response.status}` };
    return { ok: true, body: await response.json() };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const reason =
      (error as Error).name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : (cause ?? (error as Error).message);
    return { ok: false, unavailable: true, reason: `${new URL(url).origin} is unreachable (${reason})` };
  }
}

/**
 * Operator previews of what the gateway sent: the emails MailDev caught, the SMS and WhatsApp messages in the Twilio
 * sandbox and the alerts in the inbox, optionally for one user (a userId, or part of an address or number). They
 * show personal data without auth, so like dev-login they exist only outside production.
 */
export async function previewsRoutes(app: FastifyInstance, options: PreviewsRoutesOptions): Promise<void> {
  const { config, pool, cipher, fetchTimeoutMs = 2000 } = options;
  if (config.NODE_ENV === 'production') return;
  const mailPreviewUrl = config.MAIL_PREVIEW_URL.replace(/\/+$/, '');
  const sandboxUrl = config.TWILIO_API_BASE_URL.replace(/\/+$/, '');

  const users = createUsersRepository(pool, cipher);
  const inbox = createInboxRepository(pool, cipher);
  const person = async (user: string | undefined): Promise<UserContact | undefined> =>
    user ? users.contactOf(user) : undefined;

  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  const routes = app.withTypeProvider<ZodTypeProvider>();
  const withQuery = { schema: { querystring: previewQuery } };

  routes.get('/previews/config', async () => ({ mailPreviewUrl, sandboxUrl, refreshMs: 3000 }));

  routes.get('/previews/emails', withQuery, async (request) => {
    const { user, limit } = request.query;
    const [who, fetched] = await Promise.all([person(user), getJson(`${mailPreviewUrl}/email`, fetchTimeoutMs)]);
    const head = { user: user ?? null, email: who?.email ?? null, mailPreviewUrl };
    if (!fetched.ok) return { ...head, unavailable: true, reason: fetched.reason };
    const wanted = (address: string) => {
      const lower = address.toLowerCase();
      return !user || lower.includes(user.toLowerCase()) || (who?.email != null && lower === who.email.toLowerCase());
    };
    // MailDev lists in arrival order and its times have whole seconds: reversed first, ties stay newest first.
    const emails = (Array.isArray(fetched.body) ? (fetched.body as MaildevEmail[]) : [])
      .filter((email) => (email.to ?? []).some((to) => wanted(to.address ?? '')))
      .reverse()
      .sort((a, b) => Date.parse(b.time ?? b.date ?? '') - Date.parse(a.time ?? a.date ?? ''))
      .slice(0, limit)
      .map((email) => ({
        id: email.id,
        subject: email.subject ?? '',
        date: email.time ?? email.date ?? null,
        from: email.from ?? [],
        to: email.to ?? [],
        html: email.html ?? null,
        text: email.text ?? '',
      }));
    return { ...head, emails };
  });

  routes.get('/previews/messages', withQuery, async (request) => {
    const { user, limit } = request.query;
    const [who, fetched] = await Promise.all([person(user), getJson(`${sandboxUrl}/sandbox/messages`, fetchTimeoutMs)]);
    const head = { user: user ?? null, phone: who?.phone ?? null };
    if (!fetched.ok) return { ...head, unavailable: true, reason: fetched.reason };
    const wanted = (number: string) =>
      !user || number === who?.phone || (!who && number.includes(user.replace(/\s+/g, '')));
    const threads = ((fetched.body as { threads?: SandboxThread[] }).threads ?? []).filter((thread) =>
      wanted(thread.number),
    );
    const byChannel = (channel: 'sms' | 'whatsapp') =>
      threads
        .map((thread) => ({
          number: thread.number,
          messages: thread.messages.filter((m) => m.channel === channel).slice(0, limit),
        }))
        .filter((thread) => thread.messages.length > 0);
    return { ...head, sms: byChannel('sms'), whatsapp: byChannel('whatsapp') };
  });

  routes.get('/previews/alerts', withQuery, async (request) => {
    const { user, limit } = request.query;
    const rows = await inbox.latest({ userId: user, limit });
    return { user: user ?? null, alerts: rows.map((row) => ({ ...toAlert(row), userId: row.user_id })) };
  });
}
