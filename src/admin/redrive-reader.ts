import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { EventTopic } from '../events/index.js';

/** One partition's share of a re-drive's window: offsets `start` (first record at `from`) up to `end`, excluded. */
export interface Range {
  topic: EventTopic;
  partition: number;
  start: number;
  end: number;
}

/** Each partition's offsets between the window's ends: the first record at `from` up to the first at `to`. */
export async function rangesOf(
  admin: Admin,
  window: { from: Date; to: Date; topics: EventTopic[] },
  prefix: string,
): Promise<Range[]> {
  const perTopic = await Promise.all(
    window.topics.map(async (topic) => {
      const name = `${prefix}${topic}`;
      const [starts, ends] = await Promise.all([
        admin.fetchTopicOffsetsByTimestamp(name, window.from.getTime()),
        admin.fetchTopicOffsetsByTimestamp(name, window.to.getTime()),
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

export interface ReadOptions {
  kafka: Kafka;
  prefix: string;
  groupId: string;
  ranges: Range[];
  onRecord: (range: Range, message: KafkaMessage) => Promise<void>;
  /** A partition read to its end. */
  onPartitionDone: (range: Range) => void;
  /** Stops the read between two records (a cancel, an api stopping, a job that made no progress). */
  signal: AbortSignal;
}

/** Reads every range once, from its start to just before its end, then stops; or stops early when signalled. */
export async function readRanges({
  kafka,
  prefix,
  groupId,
  ranges,
  onRecord,
  onPartitionDone,
  signal,
}: ReadOptions): Promise<void> {
  const consumer: Consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 });
  const key = (topic: string, partition: number) => `${topic}:${partition}`;
  const byPartition = new Map(ranges.map((r) => [key(`${prefix}${r.topic}`, r.partition), r]));
  const left = new Set(byPartition.keys());
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  signal.addEventListener('abort', () => finished(), { once: true });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...new Set(ranges.map((r) => `${prefix}${r.topic}`))] });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const id = key(batch.topic, batch.partition);
        const range = byPartition.get(id);
        if (!range || !left.has(id)) return;
        for (const message of batch.messages) {
          if (signal.aborted || Number(message.offset) >= range.end) break;
          await onRecord(range, message);
        }
        if (signal.aborted) return;
        const next = Number(batch.messages.at(-1)?.offset ?? range.start) + 1;
        if (next >= range.end || Number(batch.highWatermark) <= next) {
          left.delete(id);
          consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
          onPartitionDone(range);
        }
        if (left.size === 0) finished();
      },
    });
    for (const range of ranges)
      consumer.seek({ topic: `${prefix}${range.topic}`, partition: range.partition, offset: String(range.start) });
    await done;
  } finally {
    await consumer.disconnect();
  }
}
