import { readFileSync } from 'node:fs';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { HTTP_ERROR_CODES } from '../errors/codes.js';
import { ROUTE_DOCS, type Credential, type ResponseDoc, type RouteDoc } from './route-docs.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const SECURITY_SCHEMES: Record<Credential, Record<string, string>> = {
  apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'a partner key (INGEST_API_KEYS)' },
  adminToken: { type: 'http', scheme: 'bearer', description: 'the admin token (ADMIN_TOKEN)' },
  userToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: "a person's token (JWT_SECRET)" },
  twilioSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'x-twilio-signature',
    description: "Twilio's HMAC-SHA1 of the URL and parameters, with TWILIO_AUTH_TOKEN",
  },
};

/** Where the UI is served; its JSON is at `${DOCS_PREFIX}/json`. */
export const DOCS_PREFIX = '/docs';

/** A route the table does not describe yet still appears, marked so, rather than vanish from the document. */
const UNDESCRIBED: RouteDoc = {
  summary: '(not described)',
  tags: ['operations'],
  responses: { 200: { description: 'see the README', example: {} } },
};

/** The body of every error answer (src/http/errors.ts). */
const ERROR_SCHEMA = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', enum: [...HTTP_ERROR_CODES] },
    message: { type: 'string' },
    details: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
};

const responseOf = (code: number, { description, example, contentType = 'application/json' }: ResponseDoc) => {
  if (example === '') return { description };
  const schema = code >= 400 ? { $ref: '#/components/schemas/Error' } : {};
  return { description, content: { [contentType]: { schema, example } } };
};

/**
 * The OpenAPI 3.1 document (@fastify/swagger) of every route: parameters and bodies from the route's zod schemas
 * (fastify-type-provider-zod), and summaries, credentials and answers from ROUTE_DOCS. Registered before the routes,
 * so it sees each one as it is added.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Notification gateway',
        version,
        description:
          'Railway and airline events in (Kafka, or `POST /events`), email, SMS, WhatsApp and live web alerts out. ' +
          'Every error answer is `{ error, message, details: [{ path, message }] }`.',
      },
      components: { securitySchemes: SECURITY_SCHEMES as never, schemas: { Error: ERROR_SCHEMA as never } },
    },
    transform: (input) => {
      const method = [input.route.method].flat()[0];
      const doc = ROUTE_DOCS[`${method} ${input.url}`] ?? UNDESCRIBED;
      const { schema = {}, url } = jsonSchemaTransform(input);
      if (schema.hide) return { schema, url };
      const body = schema.body as Record<string, unknown> | undefined;
      return {
        url,
        schema: {
          ...schema,
          ...(body && doc.bodyExample !== undefined && { body: { ...body, examples: [doc.bodyExample] } }),
          summary: doc.summary,
          ...(doc.description && { description: doc.description }),
          tags: doc.tags,
          security: (doc.security ?? []).map((name) => ({ [name]: [] })),
          response: Object.fromEntries(
            Object.entries(doc.responses).map(([code, r]) => [code, responseOf(Number(code), r)]),
          ),
        },
      };
    },
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });
}
