import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import {
  createDeadLettersAdminRepository,
  type DeadLetterEntry,
  type DeadLetterFilter,
} from '../store/dead-letters.repository.js';
import { createReplayProducer } from '../admin/replay-producer.js';
import { createReplayer, replayBlocker, type ReplayOutcome } from '../admin/replayer.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { adminGuard } from './admin-auth.js';
import { bulkReplayBody, idParam, listQuery, parseOr400 } from './admin.schemas.js';
import { conflict, notFound, unavailable } from './errors.js';
import { adminRateLimit } from './rate-limits.js';

export interface AdminRoutesOptions {
  config: Pick<
    Config,
    | 'ADMIN_TOKEN'
    | 'RATE_LIMIT_ADMIN'
    | 'KAFKA_BROKERS'
    | 'KAFKA_CLIENT_ID'
    | 'KAFKA_TOPIC_PREFIX'
    | 'KAFKA_TOPIC_PARTITIONS'
  >;
  pool: pg.Pool;
  logger: Logger;
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
export async function adminRoutes(app: FastifyInstance, { config, pool, logger }: AdminRoutesOptions): Promise<void> {
  const deadLetters = createDeadLettersAdminRepository(pool);
  const kafka = createReplayProducer({ config, logger: logger.child({ component: 'dlq-replay' }) });
  const replayer = createReplayer({ producer: kafka.producer, prefix: kafka.prefix, ready: kafka.ready });
  app.addHook('onClose', () => kafka.close());
  // Counted before the token is checked, so that guessing the token is limited too (registerRateLimits in app.ts).
  app.addHook('onRequest', app.rateLimit(adminRateLimit(config.RATE_LIMIT_ADMIN)));
  app.addHook('onRequest', adminGuard(config.ADMIN_TOKEN));

  async function found(rawId: string): Promise<DeadLetterEntry> {
    const id = idParam(rawId);
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

  app.get('/admin/dlq', async (request) => {
    const { cursor, limit, ...filter } = parseOr400(listQuery, request.query, 'query', 'query');
    return deadLetters.list(filter, { limit, after: cursor });
  });

  app.get<{ Params: { id: string } }>('/admin/dlq/:id', async (request) => found(request.params.id));

  app.post<{ Params: { id: string } }>('/admin/dlq/:id/replay', async (request, reply) => {
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

  app.post('/admin/dlq/replay', async (request, reply) => {
    const { filter, dryRun, limit } = parseOr400(bulkReplayBody, request.body, 'replay request', 'body');
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

  app.delete<{ Params: { id: string } }>('/admin/dlq/:id', async (request, reply) => {
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
