import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { REPORTED_STATUSES, type StatusWebhooksRepository } from '../store/status-webhooks.repository.js';
import { keyDigest, keyHint } from '../util/key-digest.js';
import { secretMatcher } from '../util/secrets.js';
import type { AddressGuard } from '../webhooks/address-guard.js';
import type { EventSources } from '../webhooks/event-sources.js';
import { newSigningSecret, secretProblem } from '../webhooks/signing.js';
import { badRequest, notFound } from './errors.js';
import { adminGuard } from './guards.js';
import { idParamsOf, oneOf } from './paging.schemas.js';
import { adminRateLimit } from './rate-limits.js';
import { refusing, strict } from './route-schemas.js';

export interface StatusWebhooksRoutesOptions {
  adminToken: string;
  rateLimit: number;
  /** The ingest keys a webhook may be registered for. */
  apiKeys: readonly string[];
  /** In production a receiver must be https: the notices name travellers (by id) and their messages' fate. */
  requireHttps: boolean;
  /** Refuses a receiver whose URL names an address that is not public (its names are checked at each post). */
  addresses: AddressGuard;
  webhooks: StatusWebhooksRepository;
  sources: EventSources;
}

const url = z
  .string({ error: 'must be a URL' })
  .max(2_000, 'must be at most 2000 characters')
  .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'must be an http or https URL')
  // Any userinfo is refused, an empty one too (`https://:secret@host`, `https://@host`): a password would be stored and
  // listed, and fetch refuses to post to a URL that carries one. The raw authority is read, as URL drops an empty `@`.
  .refine((value) => !/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(value), 'must not carry a user name or password');

const webhookBody = refusing(
  strict(
    {
      apiKey: z.string({ error: 'must be one of the ingest API keys' }).min(1, 'must be one of the ingest API keys'),
      url,
      secret: z
        .string({ error: 'must be a string' })
        .max(256, 'must be at most 256 characters')
        .superRefine((value, ctx) => {
          const problem = secretProblem(value);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        })
        .optional()
        .describe('the signing secret to use, when the receiver has one already; a new one is made when left out'),
      statuses: z
        .array(oneOf(REPORTED_STATUSES))
        .min(1, 'name at least one status, or leave it out for all')
        .optional()
        .describe('the statuses to be told of; all four when left out'),
    },
    'unknown field',
  ),
  { message: 'invalid webhook' },
);

const idParams = idParamsOf('webhook');

/**
 * Status webhooks, per ingest API key: `POST /admin/webhooks` registers one and answers its signing secret (the one
 * given, or a new one; this once only), `GET` lists them with how their receivers are doing, `DELETE` removes one. Each status change of a delivery of
 * an event the key sent afterwards is posted to it (src/webhooks).
 */
export async function statusWebhooksRoutes(app: FastifyInstance, options: StatusWebhooksRoutesOptions): Promise<void> {
  const { webhooks, sources } = options;
  const isIngestKey = secretMatcher(options.apiKeys);
  app.addHook('onRequest', app.rateLimit(adminRateLimit(options.rateLimit)));
  app.addHook('onRequest', adminGuard(options.adminToken));
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post('/admin/webhooks', { schema: { body: webhookBody } }, async (request, reply) => {
    const { apiKey, url: target, statuses, secret: given } = request.body;
    if (!isIngestKey(apiKey)) {
      throw badRequest('invalid webhook', [{ path: 'apiKey', message: 'not one of the ingest API keys' }]);
    }
    if (options.requireHttps && new URL(target).protocol !== 'https:') {
      throw badRequest('invalid webhook', [{ path: 'url', message: 'must be an https URL in production' }]);
    }
    try {
      options.addresses.checkHost(new URL(target).hostname);
    } catch (error) {
      throw badRequest('invalid webhook', [{ path: 'url', message: (error as Error).message }]);
    }
    const secret = given ?? newSigningSecret();
    const webhook = await webhooks.create({
      keyDigest: keyDigest(apiKey),
      keyHint: keyHint(apiKey),
      url: target,
      secret,
      statuses: statuses ?? REPORTED_STATUSES,
    });
    sources.watch(keyDigest(apiKey));
    return reply
      .code(201)
      .header('location', `/admin/webhooks/${webhook.id}`)
      .send({ ...webhook, secret });
  });

  routes.get('/admin/webhooks', async () => ({ webhooks: await webhooks.list() }));

  routes.get('/admin/webhooks/:id', { schema: { params: idParams } }, async (request) => {
    const webhook = await webhooks.get(request.params.id);
    if (!webhook) throw notFound(`no webhook ${request.params.id}`, { path: 'id', message: 'not found' });
    return webhook;
  });

  routes.delete('/admin/webhooks/:id', { schema: { params: idParams } }, async (request, reply) => {
    if (!(await webhooks.remove(request.params.id)))
      throw notFound(`no webhook ${request.params.id}`, { path: 'id', message: 'not found' });
    return reply.code(204).send();
  });
}
