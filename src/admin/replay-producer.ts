import type { Producer } from 'kafkajs';
import type { Config } from '../config.js';
import { retryTopic } from '../kafka/names.js';
import { CHANNELS } from '../events/index.js';
import type { Logger } from '../logger.js';
import { createKafka } from '../kafka/client.js';
import { createIdempotentProducer } from '../kafka/producer.js';
import { ensureTopics } from '../kafka/topics.js';

type KafkaConfig = Pick<Config, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID' | 'KAFKA_TOPIC_PREFIX' | 'KAFKA_TOPIC_PARTITIONS'>;

/**
 * The api's Kafka producer for replays, built at once but connected on the first replay: an api that never replays
 * never holds a Kafka connection, and a Kafka that is down does not stop the api from starting. The first replay also
 * creates the retry topics, which may not exist yet on a fresh cluster. A failed start is tried again next time.
 */
export function createReplayProducer({ config, logger }: { config: KafkaConfig; logger: Logger }) {
  const prefix = config.KAFKA_TOPIC_PREFIX;
  // An operator waits on the answer: a few seconds of retries, not kafkajs' default half minute.
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-admin`,
    logger,
    retry: { retries: 4, initialRetryTime: 200, maxRetryTime: 2_000 },
  });
  const producer: Producer = createIdempotentProducer(kafka);
  let starting: Promise<void> | undefined;
  let started = false;

  async function start(): Promise<void> {
    await ensureTopics(kafka, {
      prefix,
      partitions: config.KAFKA_TOPIC_PARTITIONS,
      extra: CHANNELS.map((c) => retryTopic(c, 1, prefix)),
    });
    await producer.connect();
    started = true;
  }

  return {
    /** The client the producer is made from, for an admin job that reads the log too (a re-drive). */
    kafka,
    producer,
    prefix,
    ready(): Promise<void> {
      starting ??= start().catch((error: unknown) => {
        starting = undefined;
        throw error;
      });
      return starting;
    },
    async close(): Promise<void> {
      await starting?.catch(() => undefined);
      if (started) await producer.disconnect();
    },
  };
}

export type ReplayProducer = ReturnType<typeof createReplayProducer>;
