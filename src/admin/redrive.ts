import type { KafkaMessage } from 'kafkajs';
import type { ReplayProducer } from './replay-producer.js';
import { emptyOutcome, planFor, type ChannelOutcome, type RedriveInclude } from './redrive-plan.js';
import { rangesOf, readRanges, type Range } from './redrive-reader.js';
import { retryHeaders } from '../consumers/retry-record.js';
import { ingestTimeOf } from '../consumers/ingest-time.js';
import { parseEvent, type Channel, type EventTopic, type GatewayEvent } from '../events/index.js';
import { retryTopic, topicsFor } from '../kafka/names.js';
import type { Logger } from '../logger.js';
import type { RedriveActor, RedriveJob, RedriveJobsRepository } from '../store/redrive-jobs.repository.js';
import type { RedriveLedgerRepository } from '../store/redrive-ledger.repository.js';

/** What an operator asks to deliver again: the records appended in a window, narrowed by topic, vehicle and channel. */
export interface RedriveRequest {
  from: Date;
  to: Date;
  topics: EventTopic[];
  flightNumber?: string;
  trainNumber?: string;
  channels: Channel[];
  /** Beyond what is missing or ran out of retries: dead letters an operator discarded, deliveries failed for good. */
  include: RedriveInclude[];
  dryRun: boolean;
}

export interface RedriveSettings {
  /** Jobs running at once across every api (a start past it is refused). */
  maxRunning: number;
  /** A job that reads nothing for this long ends `failed` (a read that waits for ever: records deleted under it). */
  stallTimeoutMs: number;
  /** How long a cancel, or an api stopping, waits for a job to write its last counts (within the shutdown deadline). */
  stopWaitMs: number;
}

/** How far a job got, and what it did (or, in a dry run, would do) per channel. */
interface Tally {
  progress: {
    partitions: number;
    partitionsDone: number;
    recordsInWindow: number;
    recordsRead: number;
    matched: number;
  };
  outcomes: Partial<Record<Channel, ChannelOutcome>>;
}

/** A running job beats its heart this often (writing its counts); one silent for STALE_MS died with its process. */
const HEARTBEAT_MS = 1_000;
export const STALE_MS = 30_000;

/** Why a job stopped before its end: the status it ends with, and the reason recorded. */
class RedriveStop extends Error {
  constructor(
    readonly status: 'failed' | 'cancelled',
    message: string,
  ) {
    super(message);
  }
}

const matches = (event: GatewayEvent, request: RedriveRequest) => {
  const vehicle = event as { flightNumber?: string; trainNumber?: string };
  if (request.flightNumber && vehicle.flightNumber !== request.flightNumber) return false;
  if (request.trainNumber && vehicle.trainNumber !== request.trainNumber) return false;
  return true;
};

/** The event a record holds; undefined for one that is not JSON (the consumers dead-lettered it long ago). */
function parseValue(message: KafkaMessage) {
  try {
    return message.value ? parseEvent(JSON.parse(message.value.toString('utf8')) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

const bounded = (work: Promise<unknown>, ms: number) =>
  Promise.race([work.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, ms).unref())]);

/**
 * Re-drive from the log (`POST /admin/redrive`): reads the records retained in Kafka for a window again and sends
 * each delivery the ledger does not show delivered to its channel's first retry topic. A delivery an operator
 * discarded, or one that failed for good, is left alone unless the request includes it. A dry run counts the same
 * without sending. Jobs run in the background, are capped, can be cancelled, end `failed` when they stop making
 * progress, end `cancelled` when their api stops, and are failed by the next sweep when their process died.
 */
export function createRedriver(deps: {
  replays: ReplayProducer;
  jobs: RedriveJobsRepository;
  ledger: RedriveLedgerRepository;
  logger: Logger;
  settings: RedriveSettings;
}) {
  const { replays, jobs, ledger, logger, settings } = deps;
  const running = new Map<number, { controller: AbortController; work: Promise<void> }>();

  async function run(job: RedriveJob, request: RedriveRequest, controller: AbortController): Promise<void> {
    const signal = controller.signal;
    const tally: Tally = {
      progress: { partitions: 0, partitionsDone: 0, recordsInWindow: 0, recordsRead: 0, matched: 0 },
      outcomes: Object.fromEntries(request.channels.map((c) => [c, emptyOutcome()])),
    };
    const stopWatching = watch(job.id, tally, controller);
    const groupId = `${replays.prefix}redrive-${job.id}`;
    try {
      const ranges = await readWindow(request);
      tally.progress.partitions = ranges.length;
      tally.progress.recordsInWindow = ranges.reduce((n, r) => n + r.end - r.start, 0);
      if (!request.dryRun && ranges.length > 0) await replays.ready();
      if (ranges.length > 0 && !signal.aborted)
        await readRanges({
          kafka: replays.kafka,
          prefix: replays.prefix,
          groupId,
          ranges,
          signal,
          onRecord: (range, message) => redrive(job, request, range, message, tally, signal),
          onPartitionDone: () => (tally.progress.partitionsDone += 1),
        });
    } finally {
      stopWatching();
      await jobs.report(job.id, tally.progress, tally.outcomes);
      await deleteGroup(groupId);
    }
    const stop = signal.aborted ? (signal.reason as RedriveStop) : undefined;
    await jobs.finish(job.id, stop?.status ?? 'done', stop?.message);
  }

  async function readWindow(request: RedriveRequest): Promise<Range[]> {
    const admin = replays.kafka.admin();
    await admin.connect();
    try {
      return await rangesOf(admin, request, replays.prefix);
    } finally {
      await admin.disconnect();
    }
  }

  async function deleteGroup(groupId: string): Promise<void> {
    const admin = replays.kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }

  /**
   * Beats the job's heart with its counts; stops it when another api cancelled it, or when it read nothing for
   * `stallTimeoutMs` (a partition whose records retention deleted under the read waits for ever otherwise).
   */
  function watch(jobId: number, tally: Tally, controller: AbortController): () => void {
    const signal = controller.signal;
    const progressOf = () => tally.progress.recordsRead + tally.progress.partitionsDone;
    let seen = progressOf();
    let movedAt = Date.now();
    const tick = async () => {
      if (progressOf() !== seen) [seen, movedAt] = [progressOf(), Date.now()];
      else if (Date.now() - movedAt >= settings.stallTimeoutMs && !signal.aborted) {
        const { partitions, partitionsDone, recordsRead, recordsInWindow } = tally.progress;
        const where = `${recordsRead} of ${recordsInWindow} records read, ${partitionsDone} of ${partitions} partitions done`;
        controller.abort(new RedriveStop('failed', `no progress for ${settings.stallTimeoutMs} ms (${where})`));
      }
      const status = await jobs.report(jobId, tally.progress, tally.outcomes).catch(() => 'running');
      if (status !== 'running' && !signal.aborted) controller.abort(new RedriveStop('cancelled', 'cancelled'));
    };
    const timer = setInterval(() => void tick(), Math.min(HEARTBEAT_MS, Math.max(100, settings.stallTimeoutMs / 4)));
    return () => clearInterval(timer);
  }

  /** One record of the window: counted, and sent again to each recipient on each channel the plan names. */
  async function redrive(
    job: RedriveJob,
    request: RedriveRequest,
    range: Range,
    message: KafkaMessage,
    tally: Tally,
    signal: AbortSignal,
  ) {
    tally.progress.recordsRead += 1;
    const parsed = parseValue(message);
    if (!parsed?.ok || !matches(parsed.event, request)) return;
    tally.progress.matched += 1;
    for (const channel of request.channels) {
      if (signal.aborted) return;
      if (!topicsFor(channel).includes(range.topic)) continue;
      const standings = await ledger.standing(parsed.event.eventId, channel);
      const plan = planFor(standings, request.include, tally.outcomes[channel]!);
      if (request.dryRun || (!plan.everyone && plan.userIds.length === 0)) continue;
      const original = {
        topic: `${replays.prefix}${range.topic}`,
        partition: range.partition,
        offset: message.offset,
        key: message.key?.toString() ?? null,
      };
      const now = new Date();
      // The record's own time in the log: a re-driven notice is as old as it was, not newer than what came after it.
      const envelope = { attempts: 0, dueAt: now, firstFailedAt: now, ingestedAt: ingestTimeOf(message), original };
      // A record the channel never handled goes to everyone as a first delivery; a named recipient as an operator's
      // replay, which may take back a row that failed (only the rows the plan chose are named).
      const records = [
        ...(plan.everyone ? [retryHeaders(envelope)] : []),
        ...plan.userIds.map((userId) => retryHeaders({ ...envelope, userId, replayOf: `redrive-${job.id}` })),
      ].map((headers) => ({ key: message.key, value: message.value, headers }));
      await replays.producer.send({ topic: retryTopic(channel, 1, replays.prefix), messages: records });
    }
  }

  async function sweep(): Promise<void> {
    const failed = await jobs.failAbandoned(STALE_MS).catch(() => []);
    if (failed.length > 0) logger.warn({ jobIds: failed }, 're-drives abandoned by a dead process marked failed');
  }
  const sweeper = setInterval(() => void sweep(), STALE_MS / 2);
  sweeper.unref();

  return {
    /** Fails the jobs a dead process left running (once at the start of an api, then every STALE_MS / 2). */
    recover: sweep,

    /** Starts a job and answers at once with it, or with the number running when the cap is reached. */
    async start(request: RedriveRequest, who: RedriveActor): Promise<{ job: RedriveJob } | { running: number }> {
      const created = await jobs.create(
        { ...request, from: request.from.toISOString(), to: request.to.toISOString() },
        request.dryRun,
        who,
        { maxRunning: settings.maxRunning, staleMs: STALE_MS },
      );
      if (!('job' in created)) return created;
      const { job } = created;
      const controller = new AbortController();
      const work: Promise<void> = Promise.resolve()
        .then(() => run(job, request, controller))
        .catch(async (error: unknown) => {
          logger.error({ err: error, jobId: job.id }, 're-drive failed');
          await jobs.finish(job.id, 'failed', (error as Error)?.message ?? String(error)).catch(() => undefined);
        })
        .finally(() => running.delete(job.id));
      running.set(job.id, { controller, work });
      return { job };
    },

    /**
     * Cancels a running job, on whichever api runs it (that one sees it at its next heartbeat); when it runs here,
     * waits for it to write its counts so far. Undefined when the job was not running.
     */
    async cancel(id: number, reason: string): Promise<RedriveJob | undefined> {
      const cancelled = await jobs.cancel(id, reason);
      if (!cancelled) return undefined;
      const local = running.get(id);
      if (local) {
        local.controller.abort(new RedriveStop('cancelled', reason));
        await bounded(local.work, settings.stopWaitMs);
      }
      return (await jobs.get(id)) ?? cancelled;
    },

    /** An api stopping cancels its running jobs (recorded as interrupted), and waits a little for their last counts. */
    async close(): Promise<void> {
      clearInterval(sweeper);
      const reason = 'interrupted: the api running it stopped';
      await Promise.all(
        [...running].map(async ([id, { controller, work }]) => {
          await jobs.cancel(id, reason).catch(() => undefined);
          controller.abort(new RedriveStop('cancelled', reason));
          await bounded(work, settings.stopWaitMs);
        }),
      );
    },
  };
}

export type Redriver = ReturnType<typeof createRedriver>;
