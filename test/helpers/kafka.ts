import { randomBytes } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createKafka } from '../../src/kafka/client.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import { waitFor } from './wait-for.js';

/** A prefix of its own for every test: topics, groups and queues never collide between tests or runs. */
export function uniquePrefix(label: string): string {
  return `test.${label}.${randomBytes(4).toString('hex')}.`;
}

export function testConfig(prefix: string, env: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, KAFKA_TOPIC_PREFIX: prefix, AMQP_QUEUE_PREFIX: prefix, ...env });
}

export const testLogger: Logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', name: 'test' });

export async function testKafka(config: Config): Promise<Kafka> {
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'test', logger: testLogger });
  await ensureTopics(kafka, { prefix: config.KAFKA_TOPIC_PREFIX, partitions: config.KAFKA_TOPIC_PARTITIONS });
  return kafka;
}

export interface ReadRecord {
  topic: string;
  partition: number;
  key: string;
  value: Record<string, unknown>;
  message: KafkaMessage;
}

/** Reads topics from the beginning with a fresh group until `count` records arrived (or the deadline passed). */
export async function readRecords(
  kafka: Kafka,
  topics: string[],
  count: number,
  timeoutMs = 60_000,
): Promise<ReadRecord[]> {
  const records: ReadRecord[] = [];
  const consumer = kafka.consumer({ groupId: `${topics[0]}.reader.${randomBytes(3).toString('hex')}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        records.push({
          topic,
          partition,
          key: message.key?.toString() ?? '',
          value: JSON.parse(message.value!.toString()) as Record<string, unknown>,
          message,
        });
      },
    });
    await waitFor(`${count} records on ${topics.join(', ')} (have ${records.length})`, () => records.length >= count, {
      timeoutMs,
    });
    return records;
  } finally {
    await consumer.disconnect();
  }
}
