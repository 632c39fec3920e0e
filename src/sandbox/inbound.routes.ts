import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import twilio from 'twilio';
import { z } from 'zod';
import { API_VERSION } from './message.js';

const inbound = z.object({
  from: z.string().regex(/^(whatsapp:)?\+[1-9]\d{6,14}$/, 'must be +<E.164>, or whatsapp:+<E.164>'),
  body: z.string().min(1).max(1600),
  /** The gateway's number the person replied to; the configured sender by default. */
  to: z.string().optional(),
});

/**
 * `POST /sandbox/inbound {from, body}`: a phone replies. The sandbox posts Twilio's incoming-message webhook to the
 * gateway, signed as Twilio signs it, and answers with what the gateway said (TwiML).
 */
export async function inboundRoutes(
  app: FastifyInstance,
  {
    accountSid,
    authToken,
    webhookUrl,
    defaultTo,
  }: { accountSid: string; authToken: string; webhookUrl?: string; defaultTo: string },
): Promise<void> {
  app.post('/sandbox/inbound', async (request, reply) => {
    if (!webhookUrl)
      return reply
        .code(409)
        .send({ error: 'no_webhook', message: 'the sandbox was started without an inbound webhook URL' });
    const parsed = inbound.safeParse(request.body);
    if (!parsed.success) {
      return reply.code(400).send({
        error: 'bad_request',
        message: 'invalid inbound message',
        details: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    }
    const { from, body } = parsed.data;
    const whatsapp = from.startsWith('whatsapp:');
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const params: Record<string, string> = {
      MessageSid: sid,
      SmsSid: sid,
      SmsMessageSid: sid,
      AccountSid: accountSid,
      From: from,
      Body: body,
      NumMedia: '0',
      NumSegments: '1',
      To: parsed.data.to ?? (whatsapp ? `whatsapp:${defaultTo}` : defaultTo),
      ApiVersion: API_VERSION,
      SmsStatus: 'received',
    };
    const response = await fetch(webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(authToken, webhookUrl, params),
      },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(10_000),
    });
    return reply.code(200).send({ sid, webhookStatus: response.status, webhookResponse: await response.text() });
  });
}
