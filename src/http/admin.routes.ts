import type { FastifyInstance } from 'fastify';
import type { FieldCipher } from '../util/field-cipher.js';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type pg from 'pg';
import {
  createDeadLettersAdminRepository,
  type DeadLetterEntry,
  type DeadLetterFilter,
} from '../store/dead-letters.repository.js';
import type { ReplayProducer } from '../admin/replay-producer.js';
import { createReplayer, replayBlocker, type ReplayOutcome } from '../admin/replayer.js';
import { bulkReplayBody, idParams, listQuery } from './admin.schemas.js';
import { conflict, notFound, unavailable } from './errors.js';
import { adminGuard } from './guards.js';
import { adminRateLimit } from './rate-limits.js';

export interface AdminRoutesOptions {
  adminToken: string;
  /** Admin requests per minute per client address. */
  rateLimit: number;
  pool: pg.Pool;
  /** Opens the records the dead letters hold. */
  cipher: FieldCipher;
  /** Where replays are published; made by the composition root, closed with it. */
  replays: ReplayProducer;
}

/** The one admin token has no name behind it; the audit trail says so rather than guess. */
const ACTOR = 'admin';

const resultOf = (outcome: ReplayOutcome) =>
  `republished to ${outcome.topic} partition ${outcome.partition} offset ${outcome.offset ?? '?'}`;
const failure = (error: unknown) => `failed: ${(error as Error)?.message ?? String(error)}`.slice(0, 500);

/**
 * The dead-letter admin API: list, inspect, replay (one, or every entry a filter selects) and discard. Every replay
 * and discard leaves a row in `dead_letter_audit`. A replay goes to the channel's first retry topic with the original
 * key, value and idempotency key, so replaying an entry twice still delivers once.
 */
export async function adminRoutes(
  app: FastifyInstance,
  { adminToken, rateLimit, pool, cipher, replays }: AdminRoutesOptions,
): Promise<void> {
  const deadLetters = createDeadLettersAdminRepository(pool, cipher);
  const replayer = createReplayer({ producer: replays.producer, prefix: replays.prefix, ready: replays.ready });
  // Counted before the token is checked, so that guessing the token is limited too (registerRateLimits in app.ts).
  app.addHook('onRequest', app.rateLimit(adminRateLimit(rateLimit)));
  app.addHook('onRequest', adminGuard(adminToken));
  const routes = app.withTypeProvider<ZodTypeProvider>();

  async function found(id: number): Promise<DeadLetterEntry> {
    const entry = await deadLetters.get(id);
    if (!entry) throw notFound(`no dead letter ${id}`, { path: 'id', message: 'not found' });
    return entry;
  }

  /** Sends one entry back and records it; throws what the replay threw, after auditing it. */
  async function replayOne(entry: DeadLetterEntry, filter?: DeadLetterFilter): Promise<ReplayOutcome> {
    try {
      const outcome = await replayer.replay(entry);
      const result = resultOf(outcome);
      await deadLetters.markReplayed(entry.id, result, outcome.replayedAt);
      await deadLetters.audit({ deadLetterId: entry.id, action: 'replay', actor: ACTOR, filter, result });
      return outcome;
    } catch (error) {
      await deadLetters.audit({
        deadLetterId: entry.id,
        action: 'replay',
        actor: ACTOR,
        filter,
        result: failure(error),
      });
      throw error;
    }
  }

  routes.get('/admin/dlq', { schema: { querystring: listQuery } }, async (request) => {
    const { cursor, limit, ...filter } = request.query;
    return deadLetters.list(filter, { limit, after: cursor });
  });

  routes.get('/admin/dlq/:id', { schema: { params: idParams } }, async (request) => found(request.params.id));

  routes.post('/admin/dlq/:id/replay', { schema: { params: idParams } }, async (request, reply) => {
    const entry = await found(request.params.id);
    const blocker = replayBlocker(entry);
    if (blocker) {
      throw conflict(`dead letter ${entry.id} cannot be replayed: ${blocker}`, { path: 'id', message: blocker });
    }
    let outcome: ReplayOutcome;
    try {
      outcome = await replayOne(entry);
    } catch (error) {
      request.log.warn({ err: error, deadLetterId: entry.id }, 'dead letter replay failed');
      throw unavailable('the replay could not be published to Kafka; the entry is unchanged, try again');
    }
    return reply.code(202).send({ id: entry.id, replayedAt: outcome.replayedAt, topic: outcome.topic });
  });

  routes.post('/admin/dlq/replay', { schema: { body: bulkReplayBody } }, async (request, reply) => {
    const { filter, dryRun, limit } = request.body;
    if (dryRun) {
      const { matched } = await deadLetters.replayable(filter, 0);
      await deadLetters.audit({ action: 'replay_dry_run', actor: ACTOR, filter, result: `matched ${matched}` });
      return reply.code(200).send({ matched });
    }
    const { matched, entries } = await deadLetters.replayable(filter, limit);
    let replayed = 0;
    let failed = 0;
    // Oldest first and one at a time, so records of one booking go back in the order they failed. A failure is
    // Kafka's trouble, which the next entry would meet too: the batch stops, and what is left stays pending.
    for (const entry of entries) {
      try {
        await replayOne(entry, filter);
        replayed += 1;
      } catch (error) {
        failed += 1;
        request.log.warn({ err: error, deadLetterId: entry.id }, 'bulk replay stopped at a failed entry');
        break;
      }
    }
    return reply.code(202).send({ matched, replayed, failed });
  });

  routes.delete('/admin/dlq/:id', { schema: { params: idParams } }, async (request, reply) => {
    const entry = await found(request.params.id);
    await deadLetters.discard(entry.id);
    await deadLetters.audit({
      deadLetterId: entry.id,
      action: 'delete',
      actor: ACTOR,
      result: `discarded (was ${entry.status})`,
    });
    return reply.code(204).send();
  });
}
