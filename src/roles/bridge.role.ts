import type { Config } from '../config.js';
import { createEventBridge } from '../consumers/event-bridge.js';
import { kafkaProbeFor } from '../kafka/probe.js';
import type { Logger } from '../logger.js';
import { createEventProducer } from '../producer/event-producer.js';
import { connectAmqp } from '../queue/amqp.js';
import { eventQueues } from '../queue/event-queues.js';
import type { Role } from './role.js';

/** RabbitMQ → Kafka: moves accepted events onto their topics. */
export async function startBridge(config: Config, logger: Logger): Promise<Role> {
  const connection = connectAmqp(config.AMQP_URL, { logger, name: 'bridge' });
  const producer = createEventProducer({
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-bridge`,
    logger,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    // Short: while Kafka is away the bridge requeues in RabbitMQ and backs off there, instead of holding messages.
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
  });
  const bridge = createEventBridge({ connection, queues: eventQueues(config.AMQP_QUEUE_PREFIX), producer, logger });
  await bridge.start();
  const probe = kafkaProbeFor(config.KAFKA_BROKERS, `${config.KAFKA_CLIENT_ID}-bridge`, logger);
  return {
    name: 'bridge',
    urls: {},
    checks: { rabbitmq: () => connection.isConnected(), kafka: () => probe.answers() },
    stop: async () => {
      await bridge.stop();
      await producer.stop();
      await probe.close();
      await connection.close();
    },
  };
}
