import { Redis } from 'ioredis';
import { Partitioners } from 'kafkajs';
import type { ChannelAdapter } from '../channels/channel.js';
import { createEmailChannel } from '../channels/email.channel.js';
import { createTwilioChannel } from '../channels/twilio.channel.js';
import { createWebsocketChannel } from '../channels/websocket.channel.js';
import type { Config } from '../config.js';
import { createPool } from '../db/pool.js';
import type { Channel } from '../events/index.js';
import type { Logger } from '../logger.js';
import { createPreferencesRepository } from '../preferences/preferences.repository.js';
import { createKafka } from '../producer/kafka.js';
import { ensureTopics } from '../producer/topics.js';
import { createTemplateRenderer } from '../templates/renderer.js';
import { QUIET_CHANNELS } from '../preferences/quiet-hours.js';
import { createChannelConsumer, type ChannelConsumer } from './channel.consumer.js';
import { createDeferredSender } from './deferred.sender.js';
import { createDeadLetterWriter, dlqTopic } from './dead-letters.js';
import { createDeliveriesRepository } from './deliveries.repository.js';
import { createItinerariesRepository } from './itineraries.repository.js';
import { createItineraryProjection } from './itinerary.projection.js';

function adapterFor(channel: Channel, config: Config, deps: { pool: ReturnType<typeof createPool>; redis: Redis; logger: Logger }): ChannelAdapter {
  const twilio = {
    accountSid: config.TWILIO_ACCOUNT_SID,
    authToken: config.TWILIO_AUTH_TOKEN,
    baseUrl: config.TWILIO_API_BASE_URL,
    statusCallback: `${config.PUBLIC_URL}/webhooks/twilio/status`,
  };
  switch (channel) {
    case 'email':
      return createEmailChannel({ smtpUrl: config.SMTP_URL, from: config.SMTP_FROM });
    case 'sms':
      return createTwilioChannel({ channel, ...twilio, from: config.TWILIO_SMS_FROM });
    case 'whatsapp':
      return createTwilioChannel({ channel, ...twilio, from: config.TWILIO_WHATSAPP_FROM });
    case 'websocket':
      return createWebsocketChannel(deps);
  }
}

/**
 * The worker role: the itinerary projection and one consumer group per chosen channel, sharing one pool, one Redis
 * connection, the compiled templates and a dead-letter producer.
 */
export async function createWorker({ config, logger, channels = config.WORKER_CHANNELS }: { config: Config; logger: Logger; channels?: readonly Channel[] }) {
  const prefix = config.KAFKA_TOPIC_PREFIX;
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-worker`, logger });
  await ensureTopics(kafka, { prefix, partitions: config.KAFKA_TOPIC_PARTITIONS, extra: channels.map((c) => dlqTopic(c, prefix)) });
  const pool = createPool(config.DATABASE_URL, logger);
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
  const dlqProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await dlqProducer.connect();

  const preferences = createPreferencesRepository({ pool, redis });
  const itineraries = createItinerariesRepository(pool);
  const shared = {
    kafka, renderer: createTemplateRenderer(), preferences, itineraries, logger, prefix,
    deliveries: createDeliveriesRepository(pool),
    deadLetter: createDeadLetterWriter({ producer: dlqProducer, pool, topicPrefix: prefix }),
  };
  const adapters = channels.map((channel) => adapterFor(channel, config, { pool, redis, logger }));
  const consumers: ChannelConsumer[] = adapters.map((adapter) => createChannelConsumer({ ...shared, channel: adapter.channel, adapter }));
  const projection = createItineraryProjection({ kafka, itineraries, preferences, logger, prefix });
  const deferred = createDeferredSender({ adapters: adapters.filter((a) => QUIET_CHANNELS.has(a.channel)), deliveries: shared.deliveries, logger });

  return {
    consumers,
    async start() {
      await Promise.all([projection.start(), ...consumers.map((c) => c.start())]);
      deferred.start();
    },
    async stop() {
      await Promise.all([deferred.stop(), projection.stop(), ...consumers.map((c) => c.stop())]);
      await Promise.all(adapters.map((a) => a.close()));
      await dlqProducer.disconnect();
      redis.disconnect();
      await pool.end();
    },
  };
}
