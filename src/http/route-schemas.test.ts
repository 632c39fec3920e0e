import Fastify from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { registerErrorHandling } from './errors.js';
import { invalidQueryParameter, refusing, registerRouteSchemas, strict } from './route-schemas.js';

const app = Fastify();
registerErrorHandling(app);
registerRouteSchemas(app);
const routes = app.withTypeProvider<ZodTypeProvider>();
const trip = refusing(
  strict({
    train: z.string().regex(/^\d{5}$/, 'must be 5 digits'),
    seats: strict({ count: z.number() }, 'no such seat field'),
  }),
  { message: 'invalid trip' },
);
routes.post('/trips', { schema: { body: trip } }, async (request) => ({ got: request.body }));
routes.post(
  '/events',
  {
    schema: { body: refusing(z.object({ kind: z.literal('x') }), { message: 'not an event', code: 'invalid_event' }) },
  },
  async () => ({ ok: true }),
);
routes.get(
  '/page',
  {
    schema: {
      querystring: refusing(z.object({ limit: z.coerce.number().int().max(5, 'at most 5').optional() }), {
        message: invalidQueryParameter,
      }),
      params: z.object({}),
    },
  },
  async (request) => ({ limit: request.query.limit ?? null }),
);
routes.get('/plain', { schema: { querystring: strict({ a: z.string().optional() }) } }, async () => ({ ok: true }));

beforeAll(() => app.ready());
afterAll(() => app.close());

const send = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
  app.inject({ method, url, ...(payload !== undefined && { payload: payload as object }) });

describe('route schemas', () => {
  it.each([
    {
      name: 'every bad field, by its dotted path',
      req: send('POST', '/trips', { train: 'x', seats: { count: 'two' } }),
      error: 'bad_request',
      message: 'invalid trip',
      details: [
        { path: 'train', message: 'must be 5 digits' },
        { path: 'seats.count', message: expect.any(String) },
      ],
    },
    {
      name: 'each unknown key under its own path, with its object’s reason',
      req: send('POST', '/trips', { train: '12951', seats: { count: 1, window: true, aisle: true }, colour: 'red' }),
      error: 'bad_request',
      message: 'invalid trip',
      details: [
        { path: 'seats.window', message: 'no such seat field' },
        { path: 'seats.aisle', message: 'no such seat field' },
        { path: 'colour', message: 'unknown field' },
      ],
    },
    {
      name: 'a body that is not an object, as the whole body',
      req: send('POST', '/trips', [1]),
      error: 'bad_request',
      message: 'invalid trip',
      details: [{ path: '', message: expect.any(String) }],
    },
    {
      name: "the refusal's own code",
      req: send('POST', '/events', { kind: 'y' }),
      error: 'invalid_event',
      message: 'not an event',
      details: [{ path: 'kind', message: expect.any(String) }],
    },
    {
      name: 'a message made from the field at fault',
      req: send('GET', '/page?limit=9'),
      error: 'bad_request',
      message: 'invalid query parameter limit',
      details: [{ path: 'limit', message: 'at most 5' }],
    },
    {
      name: 'a schema without a refusal, named by the part of the request',
      req: send('GET', '/plain?b=1'),
      error: 'bad_request',
      message: 'invalid query',
      details: [{ path: 'b', message: 'unknown field' }],
    },
  ])('400 for $name', async ({ req, error, message, details }) => {
    const res = await req;
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error, message, details });
  });

  it('hands the handler what the schema made of the request', async () => {
    const res = await send('POST', '/trips', { train: '12951', seats: { count: 2 } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ got: { train: '12951', seats: { count: 2 } } });
    expect((await send('GET', '/page?limit=3')).json()).toEqual({ limit: 3 });
  });
});
