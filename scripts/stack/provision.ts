import amqp from 'amqplib';
import type { Config } from '../../src/config.js';
import { ensureDatabase, migrate } from '../../src/db/migrate.js';
import { assertEventQueues, eventQueues } from '../../src/queue/event-queues.js';
import type { Logger } from '../../src/logger.js';
import { createKafka } from '../../src/kafka/client.js';
import { ensureTopics } from '../../src/kafka/topics.js';

/** What every role expects to exist: the database and its schema, the four topics, the RabbitMQ queues. */
export async function provision(config: Config, logger: Logger, log: (line: string) => void): Promise<void> {
  await ensureDatabase(config.DATABASE_URL);
  const applied = await migrate({ databaseUrl: config.DATABASE_URL, logger });
  log(`postgresql: ${applied.length ? `applied ${applied.join(', ')}` : 'schema up to date'}`);

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'stack', logger });
  const created = await ensureTopics(kafka, {
    prefix: config.KAFKA_TOPIC_PREFIX,
    partitions: config.KAFKA_TOPIC_PARTITIONS,
  });
  log(`kafka: ${created.length ? `created ${created.join(', ')}` : 'topics present'}`);

  const connection = await amqp.connect(config.AMQP_URL);
  try {
    const channel = await connection.createChannel();
    const queues = eventQueues(config.AMQP_QUEUE_PREFIX);
    await assertEventQueues(channel, queues);
    log(`rabbitmq: queues ${queues.events}, ${queues.deadLetters} ready`);
  } finally {
    await connection.close();
  }
}
