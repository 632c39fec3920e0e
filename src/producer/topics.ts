import type { Kafka } from 'kafkajs';
import { EVENT_TOPICS, topicName } from '../events/index.js';

/**
 * Creates the four event topics (and any extra ones) when missing. Existing topics are left as they are: Kafka never
 * shrinks partitions, and changing their count would break per-PNR ordering.
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
      await admin.createTopics({
        waitForLeaders: true,
        // Replication is left to the broker's default.replication.factor: 1 on the local stack, 3 on a real cluster.
        topics: missing.map((topic) => ({ topic, numPartitions: partitions })),
      });
    }
    return missing;
  } finally {
    await admin.disconnect();
  }
}
