import { Validator } from '@seriousme/openapi-schema-validator';
import type { OpenAPIV3_1 } from 'openapi-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeApi, type ComposedApi } from '../src/roles/api.role.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';

/** Every operation a client can call, as the README lists them: the document must describe each and no other. */
const ROUTES = [
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'POST /events',
  'POST /auth/dev-login',
  'GET /users/{userId}/preferences',
  'PUT /users/{userId}/preferences',
  'PATCH /users/{userId}/preferences',
  'POST /users/{userId}/itineraries',
  'DELETE /users/{userId}',
  'GET /users/{userId}/deliveries',
  'GET /users/{userId}/inbox',
  'GET /users/{userId}/inbox/unread',
  'POST /users/{userId}/inbox/{id}/read',
  'POST /users/{userId}/inbox/read',
  'GET /admin/events/{eventId}',
  'POST /webhooks/twilio/status',
  'POST /webhooks/twilio/inbound',
  'GET /admin/dlq',
  'GET /admin/dlq/{id}',
  'POST /admin/dlq/{id}/replay',
  'POST /admin/dlq/replay',
  'DELETE /admin/dlq/{id}',
  'POST /admin/redrive',
  'GET /admin/redrive',
  'GET /admin/redrive/{id}',
  'DELETE /admin/redrive/{id}',
  'POST /admin/webhooks',
  'GET /admin/webhooks',
  'GET /admin/webhooks/{id}',
  'DELETE /admin/webhooks/{id}',
  'GET /templates',
  'GET /templates/{event}/{channel}',
  'GET /previews/config',
  'GET /previews/emails',
  'GET /previews/messages',
  'GET /previews/alerts',
  'GET /alerts.html',
  'GET /previews.html',
  'GET /preferences.html',
  'GET /preferences.js',
  'GET /admin.html',
];

type Operation = OpenAPIV3_1.OperationObject;

describe('the OpenAPI document at /docs/json', () => {
  let api: ComposedApi;
  let doc: OpenAPIV3_1.Document;

  const operations = () =>
    Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
      Object.entries(item ?? {})
        .filter(([method]) => ['get', 'put', 'post', 'patch', 'delete'].includes(method))
        .map(([method, op]) => [`${method.toUpperCase()} ${path}`, op as Operation] as const),
    );
  const operation = (key: string) => operations().find(([k]) => k === key)![1];

  beforeAll(async () => {
    api = await composeApi(testConfig(uniquePrefix('openapi')), testLogger, { name: 'test-openapi' });
    const response = await api.app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    doc = response.json();
  });
  afterAll(() => api?.close());

  it('is a valid OpenAPI 3 document', async () => {
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toMatch(/^3\./);
  });

  it('lists every route, each one the app really serves', async () => {
    expect(
      operations()
        .map(([key]) => key)
        .sort(),
    ).toEqual([...ROUTES].sort());
    for (const key of ROUTES) {
      const [method, path] = key.split(' ');
      const url = path!.replace(/\{(\w+)\}/g, ':$1');
      expect(api.app.hasRoute({ method: method as 'GET', url }), key).toBe(true);
    }
  });

  it('gives each route a summary, a tag, and at least one answer with an example', () => {
    for (const [key, op] of operations()) {
      expect(op.summary, key).toBeTruthy();
      expect(op.summary, key).not.toBe('(not described)');
      expect(op.tags?.length, key).toBe(1);
      const answers = Object.entries(op.responses ?? {});
      expect(answers.length, key).toBeGreaterThan(0);
      const success = answers.find(([code]) => code.startsWith('2'));
      expect(success, `${key} has a 2xx answer`).toBeDefined();
      for (const [code, answer] of answers) {
        const content = (answer as OpenAPIV3_1.ResponseObject).content;
        if (code === '204') continue;
        const media = Object.values(content ?? {})[0];
        expect(media?.example, `${key} ${code} has an example`).toBeDefined();
      }
    }
  });

  it('names the credential each route needs', async () => {
    const schemes = Object.keys(doc.components?.securitySchemes ?? {});
    expect(schemes.sort()).toEqual(['adminToken', 'apiKey', 'twilioSignature', 'userToken']);
    const needs = (key: string) => (operation(key).security ?? []).flatMap((s) => Object.keys(s)).sort();
    expect(needs('POST /events')).toEqual(['apiKey']);
    expect(needs('GET /admin/dlq')).toEqual(['adminToken']);
    expect(needs('DELETE /admin/dlq/{id}')).toEqual(['adminToken']);
    expect(needs('PATCH /users/{userId}/preferences')).toEqual(['adminToken', 'userToken']);
    expect(needs('POST /webhooks/twilio/status')).toEqual(['twilioSignature']);
    expect(needs('GET /healthz')).toEqual([]);
    // And the routes really refuse a caller without it.
    expect((await api.app.inject({ method: 'GET', url: '/admin/dlq' })).statusCode).toBe(401);
    expect((await api.app.inject({ method: 'POST', url: '/events', payload: {} })).statusCode).toBe(401);
  });

  it('says that every route counted by a rate limit may answer 429', () => {
    const limited = operations().filter(([key]) => /^[A-Z]+ \/(events|users|admin|auth)(\/|$)/.test(key));
    expect(limited.map(([key]) => key)).toEqual(expect.arrayContaining(['GET /users/{userId}/inbox', 'POST /events']));
    for (const [key, op] of limited) expect(Object.keys(op.responses ?? {}), key).toContain('429');
  });

  it('describes the bodies from the route schemas, with an example request', () => {
    const body = (key: string) => operation(key).requestBody as OpenAPIV3_1.RequestBodyObject;
    const preferences = body('PUT /users/{userId}/preferences').content['application/json']!;
    expect(Object.keys((preferences.schema as OpenAPIV3_1.SchemaObject).properties ?? {})).toEqual(
      expect.arrayContaining(['channels', 'quietHours', 'locale']),
    );
    expect(preferences.example ?? (preferences.schema as { examples?: unknown[] }).examples).toBeDefined();
    const replay = body('POST /admin/dlq/replay').content['application/json']!;
    expect(Object.keys((replay.schema as OpenAPIV3_1.SchemaObject).properties ?? {})).toEqual(
      expect.arrayContaining(['filter', 'dryRun', 'limit']),
    );
    // The query parameters of the dead-letter list, from its zod schema.
    const parameters = (operation('GET /admin/dlq').parameters ?? []) as OpenAPIV3_1.ParameterObject[];
    expect(parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['channel', 'status', 'limit', 'cursor']));
  });

  it('serves the UI at /docs', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/docs/' });
    const page =
      response.statusCode === 302
        ? await api.app.inject({ method: 'GET', url: response.headers.location as string })
        : response;
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('swagger-ui');
  });
});
