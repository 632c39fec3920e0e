import { z } from 'zod';
import { DEAD_LETTER_STATUSES, MAX_PAGE_SIZE, type DeadLetterFilter } from '../store/dead-letters.repository.js';
import { CHANNELS, EVENT_TYPES } from '../events/index.js';
import { cursorParam, intString, oneOf } from './paging.schemas.js';
import { refusing, strict } from './route-schemas.js';

/** The most entries one bulk replay sends; the rest stay pending for the next call. */
export const MAX_BULK_REPLAY = 1000;
export const DEFAULT_BULK_REPLAY = 100;

const filterFields = {
  channel: oneOf(CHANNELS).optional(),
  eventType: oneOf(EVENT_TYPES).optional(),
  errorCode: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be an error code such as TWILIO_21211 (letters, digits, _ . : -)')
    .optional(),
  status: oneOf(DEAD_LETTER_STATUSES).optional(),
};

export const listQuery = refusing(
  strict(
    {
      ...filterFields,
      limit: intString(1, MAX_PAGE_SIZE).optional(),
      cursor: cursorParam.optional(),
    },
    'unknown parameter',
  ),
  { message: 'invalid query' },
);

/** Replays pending entries unless the filter says otherwise; discarded ones are never replayed. */
export const bulkReplayBody = refusing(
  strict(
    {
      filter: strict(
        {
          ...filterFields,
          status: z
            .enum(['pending', 'replayed'], {
              error: 'must be pending or replayed (discarded entries are not replayed)',
            })
            .default('pending'),
        },
        'unknown parameter',
      ),
      dryRun: z.boolean().default(false),
      limit: z
        .number({ error: `must be an integer from 1 to ${MAX_BULK_REPLAY}` })
        .int()
        .min(1)
        .max(MAX_BULK_REPLAY)
        .default(DEFAULT_BULK_REPLAY),
    },
    'unknown parameter',
  ),
  { message: 'invalid replay request', root: 'body' },
);

export type BulkReplay = z.infer<typeof bulkReplayBody> & { filter: DeadLetterFilter };

/** A dead letter id: a positive integer that fits PostgreSQL's bigint (and a JavaScript number). */
export const idParams = refusing(
  z.object({
    id: z
      .string()
      .regex(/^[1-9]\d{0,15}$/, 'must be a positive integer')
      .transform(Number)
      .refine(Number.isSafeInteger, 'must be a positive integer'),
  }),
  { message: 'invalid dead letter id' },
);
