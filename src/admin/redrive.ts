import type { Admin, Consumer, KafkaMessage } from 'kafkajs';
import type { ReplayProducer } from './replay-producer.js';
import { retryHeaders } from '../consumers/retry-record.js';
import { ingestTimeOf } from '../consumers/ingest-time.js';
import { parseEvent, type Channel, type EventTopic, type GatewayEvent } from '../events/index.js';
import { retryTopic, topicsFor } from '../kafka/names.js';
import type { Logger } from '../logger.js';
import type { RedriveJob, RedriveJobsRepository } from '../store/redrive-jobs.repository.js';

/** What an operator asks to deliver again: the records appended in a window, narrowed by topic, vehicle and channel. */
export interface RedriveRequest {
  from: Date;
  to: Date;
  topics: EventTopic[];
  flightNumber?: string;
  trainNumber?: string;
  channels: Channel[];
  dryRun: boolean;
}

interface Range {
  topic: EventTopic;
  partition: number;
  start: number;
  end: number;
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
  outcomes: Record<Channel, { redriven: number; alreadyDelivered: number }>;
}

/** How often a running job writes its progress where GET /admin/redrive/:id reads it. */
const REPORT_EVERY_MS = 500;

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

/** Each partition's offsets between the window's ends: the first record at `from` up to the first at `to`. */
async function rangesOf(admin: Admin, request: RedriveRequest, prefix: string): Promise<Range[]> {
  const perTopic = await Promise.all(
    request.topics.map(async (topic) => {
      const name = `${prefix}${topic}`;
      const [starts, ends] = await Promise.all([
        admin.fetchTopicOffsetsByTimestamp(name, request.from.getTime()),
        admin.fetchTopicOffsetsByTimestamp(name, request.to.getTime()),
      ]);
      return starts.map(({ partition, offset }) => ({
        topic,
        partition,
        start: Number(offset),
        end: Number(ends.find((e) => e.partition === partition)?.offset ?? offset),
      }));
    }),
  );
  return perTopic.flat().filter((r) => r.end > r.start);
}

/**
 * Re-drive from the log (`POST /admin/redrive`): reads the records retained in Kafka for a window again and sends
 * each, on every channel asked for where the ledger does not show it delivered, to that channel's first retry topic
 * as an operator's replay. The consumers deliver it; the claims keep anything already delivered from going out twice.
 * A dry run counts the same without sending. Runs in the background; its progress and counts are in `redrive_jobs`.
 */
export function createRedriver(deps: { replays: ReplayProducer; jobs: RedriveJobsRepository; logger: Logger }) {
  const { replays, jobs, logger } = deps;
  const running = new Set<Promise<void>>();

  async function run(job: RedriveJob, request: RedriveRequest): Promise<void> {
    const prefix = replays.prefix;
    const admin = replays.kafka.admin();
    await admin.connect();
    try {
      const ranges = await rangesOf(admin, request, prefix);
      const tally: Tally = {
        progress: {
          partitions: ranges.length,
          partitionsDone: 0,
          recordsInWindow: ranges.reduce((n, r) => n + r.end - r.start, 0),
          recordsRead: 0,
          matched: 0,
        },
        outcomes: Object.fromEntries(
          request.channels.map((c) => [c, { redriven: 0, alreadyDelivered: 0 }]),
        ) as Tally['outcomes'],
      };
      if (!request.dryRun && ranges.length > 0) await replays.ready();
      const groupId = `${prefix}redrive-${job.id}`;
      const onRecord = (range: Range, message: KafkaMessage) => redrive(job, request, range, message, tally);
      if (ranges.length > 0) await readRanges(job.id, groupId, ranges, onRecord, tally);
      await jobs.report(job.id, tally.progress, tally.outcomes);
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await jobs.finish(job.id, 'done');
    } finally {
      await admin.disconnect();
    }
  }

  /** Reads every range once, from its start to just before its end, then stops. */
  async function readRanges(
    jobId: number,
    groupId: string,
    ranges: Range[],
    onRecord: (range: Range, message: KafkaMessage) => Promise<void>,
    tally: Tally,
  ): Promise<void> {
    const consumer: Consumer = replays.kafka.consumer({ groupId, maxWaitTimeInMs: 500 });
    const key = (topic: string, partition: number) => `${topic}:${partition}`;
    const byPartition = new Map(ranges.map((r) => [key(`${replays.prefix}${r.topic}`, r.partition), r]));
    const left = new Set(byPartition.keys());
    let lastReport = 0;
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [...new Set(ranges.map((r) => `${replays.prefix}${r.topic}`))] });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const range = byPartition.get(key(batch.topic, batch.partition));
          if (!range || !left.has(key(batch.topic, batch.partition))) return;
          for (const message of batch.messages) {
            if (Number(message.offset) >= range.end) break;
            await onRecord(range, message);
          }
          const next = Number(batch.messages.at(-1)?.offset ?? range.start) + 1;
          if (next >= range.end || Number(batch.highWatermark) <= next) {
            left.delete(key(batch.topic, batch.partition));
            consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
            tally.progress.partitionsDone += 1;
          }
          if (Date.now() - lastReport > REPORT_EVERY_MS) {
            lastReport = Date.now();
            await jobs.report(jobId, tally.progress, tally.outcomes);
          }
          if (left.size === 0) finished();
        },
      });
      for (const range of ranges)
        consumer.seek({
          topic: `${replays.prefix}${range.topic}`,
          partition: range.partition,
          offset: String(range.start),
        });
      await done;
    } finally {
      await consumer.disconnect();
    }
  }

  /** One record of the window: counted, and sent again on each channel that has not delivered it. */
  async function redrive(job: RedriveJob, request: RedriveRequest, range: Range, message: KafkaMessage, tally: Tally) {
    tally.progress.recordsRead += 1;
    const parsed = parseValue(message);
    if (!parsed?.ok || !matches(parsed.event, request)) return;
    tally.progress.matched += 1;
    const event = parsed.event;
    for (const channel of request.channels) {
      if (!topicsFor(channel).includes(range.topic)) continue;
      if (await jobs.deliveredOn(event.eventId, channel)) {
        tally.outcomes[channel].alreadyDelivered += 1;
        continue;
      }
      tally.outcomes[channel].redriven += 1;
      if (request.dryRun) continue;
      const now = new Date();
      const headers = retryHeaders({
        attempts: 0,
        dueAt: now,
        firstFailedAt: now,
        // The record's own time in the log: a re-driven notice is as old as it was, not newer than what came after it.
        ingestedAt: ingestTimeOf(message),
        original: {
          topic: `${replays.prefix}${range.topic}`,
          partition: range.partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
        },
        replayOf: `redrive-${job.id}`,
      });
      await replays.producer.send({
        topic: retryTopic(channel, 1, replays.prefix),
        messages: [{ key: message.key, value: message.value, headers }],
      });
    }
  }

  return {
    /** Starts a job and answers at once with it; the work goes on in the background. */
    async start(request: RedriveRequest): Promise<RedriveJob> {
      const job = await jobs.create(
        { ...request, from: request.from.toISOString(), to: request.to.toISOString() },
        request.dryRun,
      );
      const work: Promise<void> = run(job, request)
        .catch(async (error: unknown) => {
          logger.error({ err: error, jobId: job.id }, 're-drive failed');
          await jobs.finish(job.id, 'failed', (error as Error)?.message ?? String(error)).catch(() => undefined);
        })
        .finally(() => running.delete(work));
      running.add(work);
      return job;
    },

    /** Lets running jobs finish (an api closing waits for them). */
    async close(): Promise<void> {
      await Promise.allSettled([...running]);
    },
  };
}

export type Redriver = ReturnType<typeof createRedriver>;
