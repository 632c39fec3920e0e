import type { FastifyInstance, FastifyRequest } from 'fastify';
import type pg from 'pg';
import pRetry from 'p-retry';
import twilio from 'twilio';
import type { DeliveriesRepository } from '../consumers/deliveries.repository.js';
import type { PreferencesRepository } from '../preferences/preferences.repository.js';
import { HttpError } from './errors.js';

/** Twilio's standard opt-out and opt-in keywords, which carriers also honour. */
const STOP_WORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT']);
const START_WORDS = new Set(['START', 'YES', 'UNSTOP']);
const STATUSES = new Set(['queued', 'sent', 'delivered', 'undelivered', 'failed']);
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

export interface TwilioWebhookDeps {
  authToken: string;
  /** The address Twilio posts to, as it signed it. */
  publicUrl: string;
  pool: pg.Pool;
  deliveries: DeliveriesRepository;
  preferences: PreferencesRepository;
}

/**
 * Twilio's webhooks: delivery status callbacks and incoming messages (STOP / START). Each request must carry an
 * X-Twilio-Signature made with our auth token over the URL and the form: missing → 400, wrong → 403.
 */
export async function twilioWebhookRoutes(app: FastifyInstance, deps: TwilioWebhookDeps): Promise<void> {
  // Twilio posts forms; scoped to these routes by Fastify's encapsulation.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const verified = (request: FastifyRequest): Record<string, string> => {
    const signature = request.headers['x-twilio-signature'];
    if (typeof signature !== 'string' || !signature) {
      throw new HttpError(400, 'bad_request', 'missing X-Twilio-Signature', [{ path: 'x-twilio-signature', message: 'required' }]);
    }
    const params = (request.body ?? {}) as Record<string, string>;
    if (!twilio.validateRequest(deps.authToken, signature, `${deps.publicUrl}${request.url}`, params)) {
      throw new HttpError(403, 'forbidden', 'X-Twilio-Signature does not match', [{ path: 'x-twilio-signature', message: 'invalid' }]);
    }
    return params;
  };

  app.post('/webhooks/twilio/status', async (request, reply) => {
    const params = verified(request);
    const status = params.MessageStatus ?? params.SmsStatus;
    if (!params.MessageSid || !status || !STATUSES.has(status)) {
      throw new HttpError(400, 'bad_request', 'not a status callback', [{ path: 'MessageStatus', message: `one of ${[...STATUSES].join(', ')}` }]);
    }
    const errorCode = params.ErrorCode ? `TWILIO_${params.ErrorCode}` : undefined;
    // A callback can overtake the worker's record of the send (it is written in batches, just after Twilio answered):
    // an unknown sid is looked for again for a moment before it is taken to be someone else's.
    const known = await pRetry(async () => {
      if (!(await deps.deliveries.updateProviderStatus(params.MessageSid!, status as 'sent', errorCode))) throw new Error('unknown sid');
      return true;
    }, { retries: 5, minTimeout: 100, factor: 2 }).catch(() => false);
    // Unknown sids are acknowledged too: Twilio would otherwise retry a message we never sent.
    if (!known) request.log.info({ sid: params.MessageSid }, 'status callback for an unknown message');
    return reply.code(204).send();
  });

  app.post('/webhooks/twilio/inbound', async (request, reply) => {
    const params = verified(request);
    const keyword = (params.Body ?? '').trim().toUpperCase();
    const from = params.From ?? '';
    const channel = from.startsWith('whatsapp:') ? 'whatsapp' : 'sms';
    const enabled = STOP_WORDS.has(keyword) ? false : START_WORDS.has(keyword) ? true : undefined;
    if (enabled !== undefined) {
      const phone = from.replace(/^whatsapp:/, '');
      const { rows } = await deps.pool.query<{ user_id: string }>('SELECT user_id FROM users WHERE phone = $1 AND erased_at IS NULL', [phone]);
      for (const { user_id } of rows) await deps.preferences.update(user_id, { channels: { [channel]: enabled } });
      request.log.info({ channel, enabled, users: rows.length }, 'opt-out keyword applied');
    }
    return reply.code(200).type('text/xml').send(EMPTY_TWIML);
  });
}
