import type { Kafka } from 'kafkajs';
import pRetry from 'p-retry';
import { EVENT_TOPICS, topicName } from '../events/index.js';

/**
 * Creates the four event topics (and any extra ones) when missing. Existing topics are left as they are: Kafka never
 * shrinks partitions, and changing their count would break per-PNR ordering.
 *
 * Right after a topic is created, or while a broker is still settling after a restart, its metadata can answer
 * "unknown topic or partition" for a moment; kafkajs waits out "leader not available" only, so both the creation and
 * the wait for leaders are tried again here, a few times, before the error is the caller's.
 */
export async function ensureTopics(
  kafka: Kafka,
  { prefix = '', partitions = 3, extra = [] }: { prefix?: string; partitions?: number; extra?: string[] } = {},
): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const wanted = [...EVENT_TOPICS.map((topic) => topicName(topic, prefix)), ...extra];
    const existing = new Set(await admin.listTopics());
    const missing = wanted.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      await pRetry(
        async () => {
          // Replication is left to the broker's default.replication.factor: 1 on the local stack, 3 on a cluster.
          await admin.createTopics({
            waitForLeaders: true,
            topics: missing.map((topic) => ({ topic, numPartitions: partitions })),
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
