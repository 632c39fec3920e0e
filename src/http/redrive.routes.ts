import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type pg from 'pg';
import { z } from 'zod';
import type { ReplayProducer } from '../admin/replay-producer.js';
import { createRedriver } from '../admin/redrive.js';
import { CHANNELS, EVENT_TOPICS, type EventTopic } from '../events/index.js';
import type { Logger } from '../logger.js';
import { createRedriveJobsRepository } from '../store/redrive-jobs.repository.js';
import { notFound } from './errors.js';
import { adminGuard } from './guards.js';
import { idParamsOf, oneOf } from './paging.schemas.js';
import { adminRateLimit } from './rate-limits.js';
import { refusing, strict } from './route-schemas.js';

export interface RedriveRoutesOptions {
  adminToken: string;
  rateLimit: number;
  pool: pg.Pool;
  replays: ReplayProducer;
  logger: Logger;
}

/** The longest window one re-drive reads: Kafka retains a week by default, and a longer read is a mistake. */
const MAX_WINDOW_MS = 7 * 24 * 3_600_000;

const TOPICS = EVENT_TOPICS as [EventTopic, ...EventTopic[]];

const instant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time with its offset' });
const vehicle = z
  .string({ error: 'must be a string' })
  .trim()
  .regex(/^[A-Za-z0-9]{2,10}$/, 'must be 2 to 10 letters or digits')
  .transform((v) => v.toUpperCase());

const redriveBody = refusing(
  strict(
    {
      from: instant,
      to: instant,
      topics: z.array(oneOf(TOPICS)).min(1, 'name at least one topic, or leave it out for all').optional(),
      flightNumber: vehicle.optional(),
      trainNumber: vehicle.optional(),
      channels: z.array(oneOf(CHANNELS)).min(1, 'name at least one channel, or leave it out for all').optional(),
      dryRun: z.boolean({ error: 'must be true or false' }).default(false),
    },
    'unknown field',
  )
    .refine((b) => Date.parse(b.to) > Date.parse(b.from), { path: ['to'], message: 'must be after from' })
    .refine((b) => Date.parse(b.to) - Date.parse(b.from) <= MAX_WINDOW_MS, {
      path: ['to'],
      message: 'the window is at most 7 days',
    })
    .refine((b) => !(b.flightNumber && b.trainNumber), {
      path: ['trainNumber'],
      message: 'give a flightNumber or a trainNumber, not both',
    }),
  { message: 'invalid re-drive' },
);

const jobParams = idParamsOf('re-drive');

/**
 * `POST /admin/redrive` starts a re-drive of a window of the log (or counts what it would do, `dryRun`) and answers
 * 202 with the job; `GET /admin/redrive/:id` shows its progress and, once done, the count per channel.
 */
export async function redriveRoutes(app: FastifyInstance, options: RedriveRoutesOptions): Promise<void> {
  const jobs = createRedriveJobsRepository(options.pool);
  const redriver = createRedriver({ replays: options.replays, jobs, logger: options.logger });
  app.addHook('onClose', () => redriver.close());
  app.addHook('onRequest', app.rateLimit(adminRateLimit(options.rateLimit)));
  app.addHook('onRequest', adminGuard(options.adminToken));
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post('/admin/redrive', { schema: { body: redriveBody } }, async (request, reply) => {
    const { from, to, topics, channels, dryRun, flightNumber, trainNumber } = request.body;
    const job = await redriver.start({
      from: new Date(from),
      to: new Date(to),
      topics: topics ?? [...EVENT_TOPICS],
      channels: channels ?? [...CHANNELS],
      dryRun,
      ...(flightNumber && { flightNumber }),
      ...(trainNumber && { trainNumber }),
    });
    return reply
      .code(202)
      .header('location', `/admin/redrive/${job.id}`)
      .send({ ...job, url: `/admin/redrive/${job.id}` });
  });

  routes.get('/admin/redrive/:id', { schema: { params: jobParams } }, async (request) => {
    const job = await jobs.get(request.params.id);
    if (!job) throw notFound(`no re-drive ${request.params.id}`, { path: 'id', message: 'not found' });
    return job;
  });
}
