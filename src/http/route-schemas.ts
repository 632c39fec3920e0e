import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { serializerCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { issuesByPath } from '../util/zod-issues.js';
import { badRequest, invalidEvent, type ErrorDetail } from './errors.js';

/** What a route answers when one part of a request fails its schema: the message and the body's `error`. */
export interface Refusal {
  /** Fixed, or made from the problems found (the first names the field). */
  message: string | ((details: readonly ErrorDetail[]) => string);
  code?: 'bad_request' | 'invalid_event';
  /** The `details[].path` of a problem with the part as a whole; by default '' for a body, 'query' for a query. */
  root?: string;
}

/** Refusals by schema: a schema without one is refused as "invalid body" (or query, path, headers). */
const refusals = z.registry<Refusal>();

/** Names what a request part is when it fails `schema`, e.g. `refusing(body, { message: 'invalid itinerary' })`. */
export function refusing<S extends z.ZodType>(schema: S, refusal: Refusal): S {
  refusals.add(schema, refusal);
  return schema;
}

/**
 * An object that takes only the keys named; any other is reported under its own path with `unknownKey` (a client
 * that misspelt a field learns which one and why, not that "the object" is wrong).
 */
export function strict<Shape extends z.core.$ZodLooseShape>(shape: Shape, unknownKey = 'unknown field') {
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? unknownKey : undefined),
  });
}

/** A request part as clients name it in `details[].path` when the whole part is at fault. */
const PART_ROOTS: Record<string, string> = { body: '', querystring: 'query', params: 'path', headers: 'headers' };

/**
 * Validates each part of a request with its zod schema, before the handler runs (and after the `onRequest` guards, so
 * a caller without credentials learns nothing of the rules). A failure is the route's refusal: 400 with every issue.
 */
const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart = 'body' }) => {
  const refusal = refusals.get(schema) ?? { message: `invalid ${PART_ROOTS[httpPart] || 'body'}` };
  return (data) => {
    const result = schema.safeParse(data);
    if (result.success) return { value: result.data };
    const details = issuesByPath(result.error.issues, refusal.root ?? PART_ROOTS[httpPart]);
    const message = typeof refusal.message === 'function' ? refusal.message(details) : refusal.message;
    return { error: refusal.code === 'invalid_event' ? invalidEvent(message, details) : badRequest(message, details) };
  };
};

/** Route schemas are zod schemas (fastify-type-provider-zod): validated here, and described in the OpenAPI document. */
export function registerRouteSchemas(app: FastifyInstance): void {
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
}

/** "invalid query parameter limit": the refusal of a query whose parameters are checked one by one. */
export const invalidQueryParameter = (details: readonly ErrorDetail[]) =>
  `invalid query parameter ${details[0]?.path ?? ''}`.trim();

/** `:userId` in a path: checked by the user guard before validation runs, so here only described. */
export const userParams = z.object({ userId: z.string().describe('the person, as the booking systems name them') });
