import type { Consumer, KafkaMessage } from 'kafkajs';
import type { FailedRecord } from './dead-letters.js';

/** What handling one record asks of the loop. */
export type Step =
  | { next: 'continue' }
  /** The provider is down (breaker open): read this record again once the consumer is resumed. */
  | { next: 'pause-all' }
  /** Not due yet (a retry topic): read it again at `until`, without holding up other partitions. */
  | { next: 'pause-partition'; until: Date };

export const CONTINUE: Step = { next: 'continue' };

/**
 * Runs a consumer one record at a time per partition (per-PNR order), resolving each offset only after its record is
 * settled. A record that must wait is sought back to, and its partition (or the whole consumer) paused: it is read
 * again, not skipped and not lost.
 */
export async function runPaced(
  consumer: Consumer,
  topics: string[],
  handle: (record: FailedRecord, message: KafkaMessage, heartbeat: () => Promise<void>) => Promise<Step>,
): Promise<void> {
  const timers = new Set<NodeJS.Timeout>();
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) break;
        const record = { topic: batch.topic, partition: batch.partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value };
        const step = await handle(record, message, heartbeat);
        if (step.next !== 'continue') {
          consumer.seek({ topic: batch.topic, partition: batch.partition, offset: message.offset });
          if (step.next === 'pause-all') consumer.pause(topics.map((topic) => ({ topic })));
          else {
            const target = [{ topic: batch.topic, partitions: [batch.partition] }];
            consumer.pause(target);
            const timer = setTimeout(() => {
              timers.delete(timer);
              consumer.resume(target);
            }, Math.max(0, step.until.getTime() - Date.now()));
            timers.add(timer);
          }
          break;
        }
        resolveOffset(message.offset);
        await heartbeat();
      }
      await commitOffsetsIfNecessary();
    },
  });
  consumer.on(consumer.events.STOP, () => timers.forEach(clearTimeout));
}
