import { z } from 'zod';
import {
  DEAD_LETTER_STATUSES,
  MAX_PAGE_SIZE,
  decodeCursor,
  type DeadLetterFilter,
} from '../store/dead-letters.repository.js';
import { CHANNELS, EVENT_TYPES } from '../events/index.js';
import { badRequest, type ErrorDetail } from './errors.js';

/** The most entries one bulk replay sends; the rest stay pending for the next call. */
export const MAX_BULK_REPLAY = 1000;
export const DEFAULT_BULK_REPLAY = 100;

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });

const filterFields = {
  channel: oneOf(CHANNELS).optional(),
  eventType: oneOf(EVENT_TYPES).optional(),
  errorCode: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be an error code such as TWILIO_21211 (letters, digits, _ . : -)')
    .optional(),
  status: oneOf(DEAD_LETTER_STATUSES).optional(),
};

/** A query-string integer ("50"), within bounds. */
const intString = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, `must be an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, `must be an integer from ${min} to ${max}`)
        .max(max, `must be an integer from ${min} to ${max}`),
    );

export const listQuery = z.strictObject({
  ...filterFields,
  limit: intString(1, MAX_PAGE_SIZE).optional(),
  cursor: z
    .string()
    .transform((value, ctx) => {
      const id = decodeCursor(value);
      if (id === undefined) ctx.addIssue({ code: 'custom', message: 'not a cursor this API handed out' });
      return id ?? 0;
    })
    .optional(),
});

/** Replays pending entries unless the filter says otherwise; discarded ones are never replayed. */
export const bulkReplayBody = z.strictObject({
  filter: z.strictObject({
    ...filterFields,
    status: z
      .enum(['pending', 'replayed'], { error: 'must be pending or replayed (discarded entries are not replayed)' })
      .default('pending'),
  }),
  dryRun: z.boolean().default(false),
  limit: z
    .number({ error: `must be an integer from 1 to ${MAX_BULK_REPLAY}` })
    .int()
    .min(1)
    .max(MAX_BULK_REPLAY)
    .default(DEFAULT_BULK_REPLAY),
});

export type BulkReplay = z.infer<typeof bulkReplayBody> & { filter: DeadLetterFilter };

/** Unknown keys are reported one by one, under their own name, like every other problem. */
function details(error: z.ZodError, root: string): ErrorDetail[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: path ? `${path}.${key}` : key, message: 'unknown parameter' }));
    }
    return [{ path: path || root, message: issue.message }];
  });
}

/** Parses with `schema` or throws a 400 naming every bad field. */
export function parseOr400<S extends z.ZodType>(schema: S, input: unknown, what: string, root: string): z.infer<S> {
  const parsed = schema.safeParse(input ?? (root === 'body' ? undefined : {}));
  if (!parsed.success) throw badRequest(`invalid ${what}`, details(parsed.error, root));
  return parsed.data;
}

/** A dead letter id: a positive integer that fits PostgreSQL's bigint (and a JavaScript number). */
export function idParam(value: string): number {
  const id = /^[1-9]\d{0,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(id))
    throw badRequest('invalid dead letter id', { path: 'id', message: 'must be a positive integer' });
  return id;
}
