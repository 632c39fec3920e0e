/**
 * The bench's own Kafka topics and groups: created before any worker (as a deployment would), emptied between parts
 * when a slow gateway left a backlog, and deleted at the end however big the backlog is.
 */
import type { Admin, Kafka } from 'kafkajs';
import { workerTopics } from '../../../src/kafka/names.js';
import { CHANNELS } from '../../../src/events/index.js';
import { ensureTopics } from '../../../src/kafka/topics.js';
import { sleep } from './timing.js';

export async function createTopics(
  kafka: Kafka,
  prefix: string,
  { partitions, retryLevels, fanOutParts }: { partitions: number; retryLevels: number; fanOutParts: number },
): Promise<void> {
  await ensureTopics(kafka, {
    prefix,
    partitions,
    extra: workerTopics(CHANNELS, { prefix, retryLevels, fanOutParts }),
  });
}

const ownTopics = async (admin: Admin, prefix: string) =>
  (await admin.listTopics()).filter((t) => t.startsWith(prefix));

/**
 * Deletes every record of the bench's topics up to their end (Kafka's DeleteRecords). Consumers whose committed
 * offset falls before the new log start reset to it: the backlog is gone without recreating topics or groups.
 * Returns how many records were dropped.
 */
export async function purgeBacklog(admin: Admin, prefix: string): Promise<number> {
  let dropped = 0;
  for (const topic of await ownTopics(admin, prefix)) {
    const offsets = await admin.fetchTopicOffsets(topic);
    const partitions = offsets.filter((p) => Number(p.high) > Number(p.low));
    if (partitions.length === 0) continue;
    dropped += partitions.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
    await admin.deleteTopicRecords({
      topic,
      partitions: partitions.map((p) => ({ partition: p.partition, offset: p.high })),
    });
  }
  return dropped;
}

/**
 * Deletes the bench's groups and topics. A member killed with SIGKILL stays in its group until its session times out
 * (6 s), and the broker refuses to delete a group that has members, so groups are retried for a while.
 */
export async function deleteKafkaResources(admin: Admin, prefix: string, groupWaitMs = 15_000): Promise<void> {
  const deadline = performance.now() + groupWaitMs;
  let groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
  while (groups.length > 0) {
    const results = await admin
      .deleteGroups(groups)
      .catch((error: { groups?: Array<{ groupId: string; errorCode?: number }> }) => error.groups ?? []);
    const left = results
      .filter((r) => r.errorCode && r.errorCode !== 69 /* GROUP_ID_NOT_FOUND */)
      .map((r) => r.groupId);
    groups = groups.filter((id) => left.includes(id) || results.length === 0);
    if (groups.length === 0 || performance.now() > deadline) break;
    await sleep(1_000);
  }
  const topics = await ownTopics(admin, prefix);
  if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 15_000 });
  if (groups.length > 0) throw new Error(`consumer groups not deleted (members still present): ${groups.join(', ')}`);
}
