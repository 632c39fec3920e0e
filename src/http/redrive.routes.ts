import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type pg from 'pg';
import { z } from 'zod';
import type { ReplayProducer } from '../admin/replay-producer.js';
import { createRedriver, type RedriveSettings } from '../admin/redrive.js';
import { REDRIVE_INCLUDES } from '../admin/redrive-plan.js';
import { CHANNELS, EVENT_TOPICS, type EventTopic } from '../events/index.js';
import type { Logger } from '../logger.js';
import { createRedriveJobsRepository } from '../store/redrive-jobs.repository.js';
import { createRedriveLedgerRepository } from '../store/redrive-ledger.repository.js';
import { conflict, notFound, tooManyRequests } from './errors.js';
import { adminGuard } from './guards.js';
import { cursorParam, idParamsOf, intString, oneOf } from './paging.schemas.js';
import { adminRateLimit } from './rate-limits.js';
import { invalidQueryParameter, refusing, strict } from './route-schemas.js';

export interface RedriveRoutesOptions {
  adminToken: string;
  rateLimit: number;
  pool: pg.Pool;
  replays: ReplayProducer;
  logger: Logger;
  settings: RedriveSettings;
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
      // Left alone unless named: what an operator threw away, and what failed for good.
      include: z
        .array(oneOf(REDRIVE_INCLUDES))
        .max(REDRIVE_INCLUDES.length, `name each of ${REDRIVE_INCLUDES.join(', ')} at most once`)
        .refine((v) => new Set(v).size === v.length, `name each of ${REDRIVE_INCLUDES.join(', ')} at most once`)
        .default([]),
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

const listQuery = refusing(
  strict({ limit: intString(1, 100).default(20), cursor: cursorParam.optional() }, 'unknown parameter'),
  { message: invalidQueryParameter },
);

/** A cap reached is a wait, not a mistake: a job ends within its progress deadline at most. */
const RETRY_AFTER_S = 30;

/**
 * `POST /admin/redrive` starts a re-drive of a window of the log (or counts what it would do, `dryRun`) and answers
 * 202 with the job; `GET /admin/redrive/:id` shows its progress and, once done, the count per channel;
 * `GET /admin/redrive` lists every re-drive (who, when, what window, counts); `DELETE /admin/redrive/:id` cancels one.
 */
export async function redriveRoutes(app: FastifyInstance, options: RedriveRoutesOptions): Promise<void> {
  const jobs = createRedriveJobsRepository(options.pool);
  const redriver = createRedriver({
    replays: options.replays,
    jobs,
    ledger: createRedriveLedgerRepository(options.pool),
    logger: options.logger,
    settings: options.settings,
  });
  // Jobs a dead process left running are failed now, not when someone happens to look.
  app.addHook('onReady', () => redriver.recover());
  app.addHook('preClose', () => redriver.close());
  app.addHook('onRequest', app.rateLimit(adminRateLimit(options.rateLimit)));
  app.addHook('onRequest', adminGuard(options.adminToken));
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post('/admin/redrive', { schema: { body: redriveBody } }, async (request, reply) => {
    const { from, to, topics, channels, include, dryRun, flightNumber, trainNumber } = request.body;
    const started = await redriver.start(
      {
        from: new Date(from),
        to: new Date(to),
        topics: topics ?? [...EVENT_TOPICS],
        channels: channels ?? [...CHANNELS],
        include,
        dryRun,
        ...(flightNumber && { flightNumber }),
        ...(trainNumber && { trainNumber }),
      },
      { actor: 'admin', clientAddress: request.ip },
    );
    if (!('job' in started))
      throw tooManyRequests(
        RETRY_AFTER_S,
        `${started.running} re-drives are running, the most allowed at once (REDRIVE_MAX_RUNNING); wait for one to end or cancel one`,
        { path: 'redrive', message: 'too many running' },
      );
    const { job } = started;
    return reply
      .code(202)
      .header('location', `/admin/redrive/${job.id}`)
      .send({ ...job, url: `/admin/redrive/${job.id}` });
  });

  routes.get('/admin/redrive', { schema: { querystring: listQuery } }, async (request, reply) => {
    const page = await jobs.list({ limit: request.query.limit, before: request.query.cursor });
    return reply.header('cache-control', 'no-store').send(page);
  });

  routes.get('/admin/redrive/:id', { schema: { params: jobParams } }, async (request) => {
    const job = await jobs.get(request.params.id);
    if (!job) throw notFound(`no re-drive ${request.params.id}`, { path: 'id', message: 'not found' });
    return job;
  });

  routes.delete('/admin/redrive/:id', { schema: { params: jobParams } }, async (request) => {
    const { id } = request.params;
    const cancelled = await redriver.cancel(id, `cancelled by admin from ${request.ip}`);
    if (cancelled) return cancelled;
    const job = await jobs.get(id);
    if (!job) throw notFound(`no re-drive ${id}`, { path: 'id', message: 'not found' });
    throw conflict(`re-drive ${id} is not running: it ended ${job.status}`, { path: 'id', message: job.status });
  });
}
