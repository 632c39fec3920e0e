import type { Kafka } from 'kafkajs';
import pRetry from 'p-retry';
import { EVENT_TOPICS, topicName } from '../events/index.js';

/**
 * The event topics' records carry the broker's time of append, not a time their producer chose: it is the time the
 * gateway took an event in, which decides which of two disruptions is newer (consumers/ingest-time.ts).
 */
const LOG_APPEND_TIME = { name: 'message.timestamp.type', value: 'LogAppendTime' };

/**
 * Creates the four event topics (stamped with the broker's time, see LOG_APPEND_TIME) and any extra ones when missing.
 * Existing topics are left as they are: Kafka never shrinks partitions, and changing their count would break per-PNR
 * ordering (the README says how to switch an existing event topic to the broker's time).
 *
 * Right after a topic is created, or while a broker is still settling after a restart, its metadata can answer
 * "unknown topic or partition" for a moment; kafkajs waits out "leader not available" only, so both the creation and
 * the wait for leaders are tried again here, a few times, before the error is the caller's.
 */
export async function ensureTopics(
  kafka: Kafka,
  {
    prefix = '',
    partitions = 3,
    extra = [],
  }: {
    prefix?: string;
    partitions?: number;
    /** Topics of the gateway's own: a name takes `partitions`, or a count of its own is given with it. */
    extra?: Array<string | { topic: string; partitions: number }>;
  } = {},
): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const eventTopics = new Set(EVENT_TOPICS.map((topic) => topicName(topic, prefix)));
    const partitionsOf = new Map(
      extra.flatMap((e) => (typeof e === 'string' ? [] : [[e.topic, e.partitions] as const])),
    );
    const wanted = [...eventTopics, ...extra.map((e) => (typeof e === 'string' ? e : e.topic))];
    const existing = new Set(await admin.listTopics());
    const missing = wanted.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      await pRetry(
        async () => {
          // Replication is left to the broker's default.replication.factor: 1 on the local stack, 3 on a cluster.
          await admin.createTopics({
            waitForLeaders: true,
            topics: missing.map((topic) => ({
              topic,
              numPartitions: partitionsOf.get(topic) ?? partitions,
              ...(eventTopics.has(topic) && { configEntries: [LOG_APPEND_TIME] }),
            })),
          });
          await admin.fetchTopicMetadata({ topics: missing });
        },
        { retries: 8, minTimeout: 250, maxTimeout: 2_000, shouldRetry: (error) => isSettling(error) },
      );
    }
    return missing;
  } finally {
    await admin.disconnect();
  }
}

const SETTLING = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_CONTROLLER', 'REQUEST_TIMED_OUT']);

function isSettling(error: unknown): boolean {
  const type = (error as { type?: string })?.type;
  return (typeof type === 'string' && SETTLING.has(type)) || (error as { retriable?: boolean })?.retriable === true;
}

/** How many partitions each topic has now (an existing topic keeps the count it was made with), in one request. */
export async function partitionCounts(kafka: Kafka, topics: string[]): Promise<Map<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const metadata = await admin.fetchTopicMetadata({ topics });
    return new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
  } finally {
    await admin.disconnect();
  }
}
