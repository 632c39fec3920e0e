import type { Consumer, KafkaMessage } from 'kafkajs';
import pLimit from 'p-limit';
import type { FailedRecord } from './dead-letters.js';
import { createOffsetTracker } from './offset-tracker.js';
import type { OutageGate } from './outage-gate.js';
import { FAILURES_BEFORE_DEAD_LETTER, faultKindOf, isGroupMembershipError } from './record-faults.js';

/** What handling one record asks of the loop. */
export type Step =
  | { next: 'continue' }
  /** The provider is down (breaker open): read this record again once the consumer is resumed. */
  | { next: 'pause-all' }
  /** Not due yet (a retry topic): read it again at `until`, without holding up other partitions. */
  | { next: 'pause-partition'; until: Date };

export const CONTINUE: Step = { next: 'continue' };

/**
 * `handOver` is aborted when this member is to give its records up: a rebalance began (a heartbeat or commit failed)
 * or the consumer is stopping. Work not yet begun is then better left to the next owner than finished here, since the
 * group waits for this member.
 */
export type RecordHandler = (
  record: FailedRecord,
  message: KafkaMessage,
  heartbeat: () => Promise<void>,
  handOver: AbortSignal,
) => Promise<Step>;

export interface PacedRunOptions {
  /** Records in flight at once in this consumer, over all its partitions. */
  concurrency?: number;
  /**
   * Called just after the whole consumer was paused. A batch pauses only once its records in flight are done, and
   * the reason may have passed meanwhile (the breaker closed): this is where the caller resumes at once if so.
   */
  afterPauseAll?: () => void;
  /**
   * The group's error boundary: a record whose handling keeps throwing for a reason of its own (see record-faults.ts)
   * is handed here, to be dead-lettered with the error, and the group goes on. Without it, such a record is read again
   * and again and nothing after it on its partition is ever handled. Should this throw too (the dead-letter write
   * failed), the record is read again later.
   */
  onPoison?: (record: FailedRecord, message: KafkaMessage, error: unknown) => Promise<void>;
  /** A record that could be neither handled nor dead-lettered, passed over: the caller logs where it is. */
  onUnwritable?: (record: FailedRecord, error: unknown) => void;
  /**
   * A record that meets an outage (PostgreSQL, Redis or Kafka away) closes this gate and pauses the whole consumer,
   * as an open breaker does, until the gate reopens (the caller resumes then, in `afterPauseAll` or on the gate's
   * reopening). Without it, the batch fails and kafkajs reads it again with its own backoff.
   */
  outages?: OutageGate;
  /** Aborted when the consumer is about to stop: the records' handlers hear it as a hand-over. */
  stopping?: AbortSignal;
}

const PAUSE_ALL: Step = { next: 'pause-all' };

/** How often a batch with records in flight asks kafkajs to heartbeat: well inside the shortest session (6 s). */
const KEEP_ALIVE_MS = 1_000;

/**
 * Runs a consumer with records of different keys in flight together and records of one key strictly in order (the
 * model of Confluent's Parallel Consumer): a booking's cancellation never overtakes its confirmation, while other
 * bookings of the same partition go on meanwhile. The offset resolved, and so committed, is never past the oldest
 * record not yet settled. A record that must wait stops the batch: nothing new starts, what is in flight finishes,
 * and the consumer seeks back to the oldest unsettled record, pausing its partition (or the whole consumer), so the
 * record is read again, not skipped and not lost. Records after it that did finish meet their settled claims then.
 */
export async function runPaced(
  consumer: Consumer,
  topics: string[],
  handle: RecordHandler,
  { concurrency = 64, afterPauseAll, onPoison, onUnwritable, outages, stopping }: PacedRunOptions = {},
): Promise<void> {
  const timers = new Set<NodeJS.Timeout>();
  // How often each record has failed in a row, by topic, partition and offset (cleared once it is settled).
  const failures = new Map<string, number>();

  /** Handles a record, or, once it has failed often enough for a reason of its own, dead-letters it. */
  async function guarded(record: FailedRecord, message: KafkaMessage, heartbeat: () => Promise<void>): Promise<Step> {
    const id = `${record.topic}:${record.partition}:${record.offset}`;
    try {
      const step = await handle(record, message, heartbeat, handOver.signal);
      failures.delete(id);
      return step;
    } catch (error) {
      // The group is moving: the batch stops and the member rejoins, the record is read again by its next owner. Not
      // counted against the record, and no outage to pause every consumer for.
      if (isGroupMembershipError(error)) {
        giveUp();
        throw error;
      }
      const kind = faultKindOf(error);
      if (kind === 'outage' && outages) {
        outages.trip(error);
        failures.delete(id);
        return PAUSE_ALL;
      }
      const count = (failures.get(id) ?? 0) + 1;
      failures.set(id, count);
      if (!onPoison || kind === 'outage' || count < FAILURES_BEFORE_DEAD_LETTER[kind]) throw error;
      try {
        await onPoison(record, message, error);
      } catch (deadLetterError) {
        // The dead letter itself cannot be written, for a reason of the record's own, again and again: the last
        // resort is to log where the record is (Kafka keeps it, an operator can read it there) and go on.
        if (faultKindOf(deadLetterError) === 'outage' || count < 2 * FAILURES_BEFORE_DEAD_LETTER.unknown)
          throw deadLetterError;
        onUnwritable?.(record, deadLetterError);
      }
      failures.delete(id);
      return CONTINUE;
    }
  }
  const limit = pLimit(concurrency);
  // A failed heartbeat or commit (most often: the group is rebalancing) stops every batch of this consumer from
  // starting more records, not only the batch that heard it: the group waits for this member to rejoin, and a member
  // that finishes only what it has in flight rejoins soonest. Cleared when the member has joined again, and by any
  // heartbeat that succeeds: a transient failure that kafkajs got past without a rejoin (a broker that stalled for less
  // than the session, a commit refused for a while) would otherwise leave the flag set and the group handling nothing.
  let rejoining = false;
  // Aborted with `rejoining` (and when the consumer stops): the records in flight give up what has not begun.
  let handOver = new AbortController();
  const giveUp = () => {
    rejoining = true;
    handOver.abort();
  };
  stopping?.addEventListener('abort', () => handOver.abort(), { once: true });
  const rejoined = () => {
    rejoining = false;
    if (handOver.signal.aborted && !stopping?.aborted) handOver = new AbortController();
  };
  consumer.on(consumer.events.GROUP_JOIN, rejoined);
  consumer.on(consumer.events.HEARTBEAT, rejoined);

  function pauseFor(step: Exclude<Step, { next: 'continue' }>, topic: string, partition: number): void {
    if (step.next === 'pause-all') {
      consumer.pause(topics.map((t) => ({ topic: t })));
      return afterPauseAll?.();
    }
    const target = [{ topic, partitions: [partition] }];
    consumer.pause(target);
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        consumer.resume(target);
      },
      Math.max(0, step.until.getTime() - Date.now()),
    );
    timers.add(timer);
  }

  await consumer.run({
    // Every partition of every topic may have a batch in flight; the limit above bounds the records.
    partitionsConsumedConcurrently: 32,
    eachBatchAutoResolve: false,
    // Commits the settled prefix during a long batch too, not only at its end.
    autoCommitInterval: 1_000,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
      const tracker = createOffsetTracker(batch.messages.map((m) => m.offset));
      let halted: Exclude<Step, { next: 'continue' }> | undefined;
      // A record that threw stops the batch like one that must wait: a later record of its key must not overtake it.
      let failure: { error: unknown } | undefined;
      const runOne = async (message: KafkaMessage) => {
        if (halted || failure || rejoining || !isRunning() || isStale()) return;
        const record = {
          topic: batch.topic,
          partition: batch.partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: message.value,
        };
        try {
          const step = await guarded(record, message, heartbeat);
          if (step.next !== 'continue') {
            halted ??= step;
            return;
          }
          const settled = tracker.settle(message.offset);
          if (settled !== undefined) resolveOffset(settled);
        } catch (error) {
          failure ??= { error };
          return;
        }
        try {
          await heartbeat();
          await commitOffsetsIfNecessary();
        } catch (error) {
          giveUp();
          failure ??= { error };
        }
      };
      const byKey = new Map<string, Promise<void>>();
      for (const message of batch.messages) {
        // A record without a key promises no order: it waits for nothing.
        const key = message.key ? message.key.toString('latin1') : `offset:${message.offset}`;
        byKey.set(
          key,
          (byKey.get(key) ?? Promise.resolve()).then(() => limit(() => runOne(message))),
        );
      }
      // One record may stay in a provider's hands longer than the session (a send that times out after 10 s): the
      // group hears from this member all along, not only as records finish, or it hands the partition on mid-send and
      // the record is read again, and may be sent again, while its first send is still undecided. kafkajs sends a
      // heartbeat only once its interval has passed, however often it is asked.
      const keepAlive = setInterval(() => {
        heartbeat().catch((error: unknown) => {
          giveUp();
          failure ??= { error };
        });
      }, KEEP_ALIVE_MS);
      try {
        await Promise.all(byKey.values());
      } finally {
        clearInterval(keepAlive);
      }
      // kafkajs reads the batch again from the last resolved offset after a failure: the settled prefix is kept.
      if (failure) throw failure.error;
      const unsettled = tracker.oldestUnsettled();
      if (halted && unsettled !== undefined) {
        consumer.seek({ topic: batch.topic, partition: batch.partition, offset: unsettled });
        pauseFor(halted, batch.topic, batch.partition);
      }
    },
  });
  consumer.on(consumer.events.STOP, () => timers.forEach(clearTimeout));
}
