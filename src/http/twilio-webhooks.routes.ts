import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type pg from 'pg';
import twilio from 'twilio';
import { z } from 'zod';
import type { DeliveriesRepository } from '../store/deliveries.repository.js';
import { toE164 } from '../events/phone.js';
import type { OptOutsRepository } from '../store/opt-outs.repository.js';
import type { PreferencesRepository } from '../store/preferences.repository.js';
import type { UsersRepository } from '../store/users.repository.js';
import { badRequest, forbidden, unavailable } from './errors.js';
import { refusing } from './route-schemas.js';
import { recordProviderStatus } from './twilio-status.js';

/** Twilio's standard opt-out and opt-in keywords, which carriers also honour. */
const STOP_WORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT']);
const START_WORDS = new Set(['START', 'YES', 'UNSTOP']);
const STATUSES = ['queued', 'sent', 'delivered', 'undelivered', 'failed'] as const;
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

export interface TwilioWebhookDeps {
  authToken: string;
  /** The address Twilio posts to, as it signed it. */
  publicUrl: string;
  pool: pg.Pool;
  deliveries: DeliveriesRepository;
  preferences: PreferencesRepository;
  /** Numbers that replied STOP. */
  optOuts: OptOutsRepository;
  /** Whose number a STOP came from: found by the number's keyed hash. */
  users: UsersRepository;
}

const signed = z.looseObject({
  'x-twilio-signature': z.string().describe('HMAC-SHA1 of the URL and the form with the auth token, base64'),
});

/** A status callback: the message's sid and its new status (`MessageStatus`, or `SmsStatus` from older accounts). */
const statusCallback = refusing(
  z
    .looseObject({
      MessageSid: z.string({ error: 'required' }).min(1, 'required'),
      MessageStatus: z.string().optional(),
      SmsStatus: z.string().optional(),
      ErrorCode: z.string().optional(),
    })
    .transform((form, ctx) => {
      const status = STATUSES.find((known) => known === (form.MessageStatus ?? form.SmsStatus));
      if (status) return { ...form, status };
      ctx.addIssue({ code: 'custom', path: ['MessageStatus'], message: `one of ${STATUSES.join(', ')}` });
      return z.NEVER;
    }),
  { message: 'not a status callback' },
);

/** An incoming message: who sent it and what it says (only STOP and START words are acted on). */
const inboundMessage = z.looseObject({ From: z.string().optional(), Body: z.string().optional() });

/**
 * Twilio's webhooks: delivery status callbacks and incoming messages (STOP / START). Each request must carry an
 * X-Twilio-Signature made with our auth token over the URL and the form: missing → 400, wrong → 403.
 */
export async function twilioWebhookRoutes(app: FastifyInstance, deps: TwilioWebhookDeps): Promise<void> {
  const optOuts = deps.optOuts;
  const users = deps.users;
  // Twilio posts forms; scoped to these routes by Fastify's encapsulation.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  /** Runs before the form is validated: a caller who cannot sign learns nothing of what a form should hold. */
  const verify = async (request: FastifyRequest): Promise<void> => {
    const signature = request.headers['x-twilio-signature'];
    if (typeof signature !== 'string' || !signature) {
      throw badRequest('missing X-Twilio-Signature', { path: 'x-twilio-signature', message: 'required' });
    }
    const params = (request.body ?? {}) as Record<string, string>;
    if (!twilio.validateRequest(deps.authToken, signature, `${deps.publicUrl}${request.url}`, params)) {
      throw forbidden('X-Twilio-Signature does not match', { path: 'x-twilio-signature', message: 'invalid' });
    }
  };
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '/webhooks/twilio/status',
    { schema: { headers: signed, body: statusCallback }, preValidation: verify },
    async (request, reply) => {
      const params = request.body;
      const status = params.status;
      const errorCode = params.ErrorCode ? `TWILIO_${params.ErrorCode}` : undefined;
      const outcome = await recordProviderStatus(deps, params.MessageSid, status, errorCode);
      if (outcome === 'not-yet') {
        // Twilio retries a callback answered with a 5xx: by then the ledger holds the sid.
        request.log.info(
          { sid: params.MessageSid },
          'status callback before its send was recorded; asking Twilio to retry',
        );
        throw unavailable('this message is not recorded yet; retry later', { retryAfterS: 5 });
      }
      // Unknown sids are acknowledged: Twilio would otherwise retry a message we never sent.
      if (outcome === 'unknown') request.log.info({ sid: params.MessageSid }, 'status callback for an unknown message');
      return reply.code(204).send();
    },
  );

  routes.post(
    '/webhooks/twilio/inbound',
    { schema: { headers: signed, body: inboundMessage }, preValidation: verify },
    async (request, reply) => {
      const params = request.body;
      const keyword = (params.Body ?? '').trim().toUpperCase();
      const from = params.From ?? '';
      const channel = from.startsWith('whatsapp:') ? 'whatsapp' : 'sms';
      const enabled = STOP_WORDS.has(keyword) ? false : START_WORDS.has(keyword) ? true : undefined;
      if (enabled !== undefined) {
        const phone = toE164(from.replace(/^whatsapp:/, '')) ?? from.replace(/^whatsapp:/, '');
        // The number itself is what opted out: no SMS goes to it, whoever's booking carries it.
        await (enabled ? optOuts.optIn(phone, channel) : optOuts.optOut(phone, channel));
        // And its owners' switch follows, so their preferences page shows what they asked for.
        const owners = await users.idsWithPhone(phone);
        for (const userId of owners) await deps.preferences.update(userId, { channels: { [channel]: enabled } });
        request.log.info({ channel, enabled, users: owners.length }, 'opt-out keyword applied');
      }
      return reply.code(200).type('text/xml').send(EMPTY_TWIML);
    },
  );
}
