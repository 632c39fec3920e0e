/**
 * kafkajs consuming as fast as it can: a topic of our own (3 partitions) pre-filled with ~300 B JSON records, then
 * a fresh group reads it with eachBatch and throws every record away. Topic and group are deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, Message } from 'kafkajs';
import { createKafka } from '../../../src/kafka/client.js';
import { silentLogger, stackConfig, uniqueSuffix, withTimeout } from './shared.js';

const RECORDS = 200_000;
const PARTITIONS = 3;
/** Records per producer.send, and sends in flight: big batches are what lets the pre-fill take seconds, not minutes. */
const PAGE = 2_000;
const SENDS_IN_FLIGHT = 4;
const CONSUME_TIMEOUT_MS = 30_000;

/** ~300 B, shaped like a gateway event; a few hundred distinct bodies are enough (kafkajs does not compress here). */
function sampleValues(): string[] {
  return Array.from({ length: 500 }, (_, i) =>
    JSON.stringify({
      eventId: randomUUID(),
      eventType: 'TRAVEL_DISRUPTION',
      eventTimestamp: new Date(Date.UTC(2026, 11, 1, 10, i % 60)).toISOString(),
      schemaVersion: 1,
      disruptionType: 'FLIGHT_DELAY',
      flightNumber: `6E${2000 + (i % 900)}`,
      journeyDate: '2026-12-20',
      destination: 'Goa (GOX)',
      userId: String(10_000 + i),
      payload: { minutes: 30 + (i % 120), reason: 'fog at Delhi airport', gate: `${1 + (i % 60)}B` },
    }),
  );
}

async function prefill(kafka: Kafka, topic: string): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const values = sampleValues();
    let next = 0;
    const sender = async () => {
      while (next < RECORDS) {
        const from = next;
        next += PAGE;
        const messages: Message[] = [];
        // Varied keys spread the records over the partitions as users' events would be.
        for (let i = from; i < Math.min(from + PAGE, RECORDS); i++)
          messages.push({ key: `user-${i % 50_000}`, value: values[i % values.length]! });
        await producer.send({ topic, messages, acks: -1 });
      }
    };
    await Promise.all(Array.from({ length: SENDS_IN_FLIGHT }, sender));
  } finally {
    await producer.disconnect();
  }
}

/**
 * Records/s from the first batch's arrival to the last one's end, not counting that first batch (it was fetched
 * before the clock started). The group's join and first fetch are outside the window: start-up, not the rate.
 */
async function consumeAll(kafka: Kafka, topic: string, groupId: string): Promise<number> {
  // The gateway's channel consumers' session settings; fetch sizes are kafkajs' defaults.
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 1_000 });
  let seen = 0;
  let firstBatch = 0;
  let first: number | undefined;
  let last = 0;
  let finished!: () => void;
  const allSeen = new Promise<void>((resolve) => (finished = resolve));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: PARTITIONS,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        if (first === undefined) {
          first = performance.now();
          firstBatch = batch.messages.length;
        }
        seen += batch.messages.length;
        last = performance.now();
        if (seen >= RECORDS) finished();
      },
    });
    await withTimeout(allSeen, CONSUME_TIMEOUT_MS, 'kafka consume').catch(() => {
      throw new Error(`only ${seen} of ${RECORDS} records consumed after ${CONSUME_TIMEOUT_MS / 1000} s`);
    });
    return (seen - firstBatch) / ((last - first!) / 1000);
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

export async function measureKafkaConsume(progress: (line: string) => void): Promise<number> {
  const suffix = uniqueSuffix();
  const topic = `bench.raw.${suffix}`;
  const groupId = `bench.raw.${suffix}`;
  const kafka = createKafka({
    brokers: stackConfig().KAFKA_BROKERS,
    clientId: 'bench-raw',
    logger: silentLogger,
    retry: { retries: 3 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    const started = performance.now();
    await prefill(kafka, topic);
    progress(
      `kafka consume: ${RECORDS} records pre-filled in ${((performance.now() - started) / 1000).toFixed(1)} s, consuming`,
    );
    return await consumeAll(kafka, topic, groupId);
  } finally {
    // Each step on its own: a group that was never created must not keep the topic from being deleted.
    await admin
      .deleteGroups([groupId])
      .catch((error: { groups?: Array<{ error?: { type?: string } }>; message: string }) => {
        if (error.groups?.every((g) => g.error?.type === 'GROUP_ID_NOT_FOUND')) return;
        progress(`kafka consume: could not delete group ${groupId}: ${error.message}`);
      });
    // Asked rather than assumed: createTopics may have failed before or after the topic came to be.
    const topics = await admin.listTopics().catch(() => [topic]);
    if (topics.includes(topic)) {
      await admin
        .deleteTopics({ topics: [topic] })
        .catch((error: Error) => progress(`kafka consume: could not delete ${topic}: ${error.message}`));
    }
    await admin.disconnect().catch(() => undefined);
  }
}
