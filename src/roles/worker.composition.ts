import { PROVIDER_OF, createBreakers } from '../channels/breaker.js';
import { createBreakerStateStore } from '../channels/breaker-state.store.js';
import type { ChannelAdapter } from '../channels/channel.js';
import { withConnectionGate } from '../channels/connection-gate.js';
import type { Config } from '../config.js';
import { createPool } from '../db/pool.js';
import type { Channel } from '../events/index.js';
import type { Logger } from '../logger.js';
import { createMetrics, type GatewayMetrics } from '../metrics.js';
import { createPreferencesRepository } from '../store/preferences.repository.js';
import { createOptOutsRepository } from '../store/opt-outs.repository.js';
import { createKafka } from '../kafka/client.js';
import { kafkaProbeFor } from '../kafka/probe.js';
import { registerBacklogMetrics, type WatchedGroup } from '../consumers/backlog.metrics.js';
import { postgresAnswers, redisAnswers } from '../net/readiness.js';
import { createIdempotentProducer } from '../kafka/producer.js';
import { createRedis } from '../net/redis.js';
import { ensureTopics, partitionCounts } from '../kafka/topics.js';
import { createTemplateRenderer } from '../templates/renderer.js';
import { QUIET_CHANNELS } from '../preferences/quiet-hours.js';
import { createChannelConsumer, type ChannelConsumer } from '../consumers/channel.consumer.js';
import { createDeliveryPipeline } from '../consumers/delivery.pipeline.js';
import { createFailureRouter } from '../consumers/failure.router.js';
import { createDeferredSender } from '../consumers/deferred.sender.js';
import { createOutageGate } from '../consumers/outage-gate.js';
import { composeStatusReconciler } from './reconciler.composition.js';
import { adapterFor, rateLimited } from './channel-adapters.composition.js';
import { createDeadLetterWriter } from '../consumers/dead-letters.js';
import { createFanOut } from '../consumers/fan-out.js';
import {
  CONSUMER_GROUPS,
  retryGroupOf,
  retryLevelOf,
  retryTopic,
  channelTopics,
  fanOutTopic,
  workerTopics,
} from '../kafka/names.js';
import { createDeliveriesRepository } from '../store/deliveries.repository.js';
import { createDisruptionsRepository } from '../store/disruptions.repository.js';
import { createSendChecks } from '../store/send-checks.js';
import { createItinerariesRepository } from '../store/itineraries.repository.js';
import { createItineraryProjection } from '../consumers/itinerary.projection.js';
import { createStatusWebhooks } from '../webhooks/status-webhooks.js';
import { fieldCipherOf } from '../util/field-cipher.js';

/**
 * The worker role: the itinerary projection and, per chosen channel, a consumer group on the event topics and one on
 * its retry topics, sharing one pool, one Redis connection, the compiled templates, a producer for retries and dead
 * letters, and one circuit breaker per provider.
 */
export async function createWorker({
  config,
  logger,
  channels = config.WORKER_CHANNELS,
  templatesDir,
  metrics = createMetrics(),
}: {
  config: Config;
  logger: Logger;
  channels?: readonly Channel[];
  /** Where deliveries are counted; the process's own when roles share one. */
  metrics?: GatewayMetrics;
  /** Templates from another folder than src/templates. */
  templatesDir?: string;
}) {
  const prefix = config.KAFKA_TOPIC_PREFIX;
  const delays = config.RETRY_DELAYS_MS;
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-worker`, logger });
  const retryTopics = (channel: Channel) => delays.map((_, i) => retryTopic(channel, i + 1, prefix));
  await ensureTopics(kafka, {
    prefix,
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    extra: workerTopics(channels, { prefix, retryLevels: delays.length, fanOutParts: config.FAN_OUT_PARTS }),
  });
  // As many parts as the fan-out topic has partitions now: one made before with another count keeps it.
  const fanOutParts = await partitionCounts(
    kafka,
    channels.map((c) => fanOutTopic(c, prefix)),
  );
  // Statements are batched (createBatchLoader), so a few connections carry many deliveries in flight.
  const pool = createPool(config.DATABASE_URL, logger, 20);
  // Auto-pipelining sends the profile look-ups of the deliveries in flight together, one round trip a tick.
  const redis = createRedis(config.REDIS_URL, { maxRetriesPerRequest: 3, enableAutoPipelining: true });
  const producer = createIdempotentProducer(kafka);
  await producer.connect();

  const breakers = createBreakers(logger, {
    resetTimeoutMs: config.BREAKER_RESET_MS,
    callTimeoutMs: config.BREAKER_CALL_TIMEOUT_MS,
  });
  const breakerStates = createBreakerStateStore(redis, prefix);
  breakers.onStateChange((provider, state) => void breakerStates.write(provider, state).catch(() => {}));
  const renderer = createTemplateRenderer(templatesDir ? { dir: templatesDir } : {});
  // Contact details, message bodies and held records are sealed at rest with the configured keys.
  const cipher = fieldCipherOf(config);
  const preferences = createPreferencesRepository({ pool, redis, cipher });
  const itineraries = createItinerariesRepository(pool, cipher);
  const disruptions = createDisruptionsRepository(pool);
  const deliveries = createDeliveriesRepository(pool, { cipher, leaseMs: config.DELIVERY_LEASE_MS });
  const deadLetter = createDeadLetterWriter({ producer, pool, cipher, topicPrefix: prefix });
  // Sends waiting for their sender's rate give up (unsent, retried later) when the worker stops, so a stop never waits
  // out a queue of them.
  const stopping = new AbortController();
  // The rate is outside the breaker: a send waiting its turn must not count as a provider call that timed out.
  const adapters = channels.map((channel) => {
    const limited = rateLimited(breakers.guard(adapterFor(channel, config, { pool, redis, cipher, logger })), config, {
      redis,
      signal: stopping.signal,
      waitSeconds: metrics.sendRateWait,
    });
    // Emails beyond the SMTP connections wait where a rebalance or a stop can still give them up unsent, so the
    // channel keeps as many in flight as the others without a rebalance waiting for them (connection-gate.ts).
    return channel === 'email' ? withConnectionGate(limited, config.SMTP_MAX_CONNECTIONS) : limited;
  });
  const optOuts = createOptOutsRepository(pool, cipher);
  const sendChecks = createSendChecks(pool, cipher);
  const optOutsFor = (channel: Channel) =>
    channel === 'sms' || channel === 'whatsapp' ? optOuts.forChannel(channel) : undefined;
  const pipeline = (adapter: ChannelAdapter) => {
    const numbers = optOutsFor(adapter.channel);
    return createDeliveryPipeline({
      channel: adapter.channel,
      adapter,
      renderer,
      deliveries,
      metrics,
      expiryGrace: config.EXPIRY_GRACE_MINUTES,
      sendChecks,
      ...(numbers && { optOuts: numbers }),
    });
  };

  const probe = kafkaProbeFor(config.KAFKA_BROKERS, `${config.KAFKA_CLIENT_ID}-worker`, logger);
  /** What this worker needs to deliver: its `/readyz`, and what a paused consumer waits for after an outage. */
  const checks = {
    kafka: () => probe.answers(),
    postgres: postgresAnswers(pool),
    redis: redisAnswers(redis),
  };
  const outages = createOutageGate({ checks, logger });

  const watched: WatchedGroup[] = [];
  const consumers: ChannelConsumer[] = adapters.flatMap((adapter) => {
    const channel = adapter.channel;
    const common = {
      kafka,
      channel,
      deliverTo: pipeline(adapter),
      deliveries,
      preferences,
      itineraries,
      disruptions,
      breakers,
      outages,
      logger,
      concurrency: config.WORKER_CONCURRENCY,
    };
    const router = (consumerGroup: string) =>
      createFailureRouter({ channel, producer, deadLetter, consumerGroup, delaysMs: delays, prefix });
    const mainGroup = `${prefix}${CONSUMER_GROUPS[channel]}`;
    const retryGroup = `${prefix}${retryGroupOf(channel)}`;
    watched.push(
      { groupId: mainGroup, topics: channelTopics(channel, prefix), channel, retry: false },
      { groupId: retryGroup, topics: retryTopics(channel), channel, retry: true },
    );
    return [
      createChannelConsumer({
        ...common,
        groupId: mainGroup,
        topics: channelTopics(channel, prefix),
        fanOut: createFanOut({
          producer,
          topic: fanOutTopic(channel, prefix),
          parts: fanOutParts.get(fanOutTopic(channel, prefix))!,
        }),
        router: router(mainGroup),
        levelOf: () => 0,
      }),
      createChannelConsumer({
        ...common,
        groupId: retryGroup,
        topics: retryTopics(channel),
        router: router(retryGroup),
        levelOf: retryLevelOf,
      }),
    ];
  });
  const projection = createItineraryProjection({
    kafka,
    producer,
    itineraries,
    preferences,
    logger,
    prefix,
    concurrency: config.WORKER_CONCURRENCY,
    outages,
  });
  const deferred = createDeferredSender({
    adapters: adapters.filter((a) => QUIET_CHANNELS.has(a.channel)),
    deliveries,
    preferences,
    optOutsFor,
    logger,
  });

  const reconciler = composeStatusReconciler({ config, channels, pool, metrics, logger });

  // The ledger's status changes, posted to the webhooks of the API keys that sent the events.
  const statusWebhooks = createStatusWebhooks({
    databaseUrl: config.DATABASE_URL,
    pool,
    cipher,
    logger,
    retryDelaySeconds: config.WEBHOOK_RETRY_DELAY_SECONDS,
    retryHours: config.WEBHOOK_RETRY_HOURS,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    concurrency: config.WEBHOOK_CONCURRENCY,
    perReceiver: config.WEBHOOK_RECEIVER_CONCURRENCY,
    addresses: { blockPrivate: config.WEBHOOK_BLOCK_PRIVATE, allowed: config.WEBHOOK_ALLOWED_HOSTS },
    metrics,
  });

  const backlog = registerBacklogMetrics(metrics, { kafka, pool, groups: watched });

  return {
    kafka,
    consumers,
    checks,
    breakers,
    metrics,
    /** Every worker's breaker states, as the workers wrote them. */
    readBreakerStates: breakerStates.read,
    async start() {
      await Promise.all(
        [...new Set(adapters.map((a) => PROVIDER_OF[a.channel]))].map((p) => breakerStates.write(p, 'closed')),
      );
      await Promise.all([projection.start(), ...consumers.map((c) => c.start()), statusWebhooks.start()]);
      deferred.start();
      reconciler?.start();
    },
    async stop() {
      stopping.abort();
      await outages.stop();
      await Promise.all([
        deferred.stop(),
        reconciler?.stop(),
        projection.stop(),
        ...consumers.map((c) => c.stop()),
        statusWebhooks.stop(),
      ]);
      breakers.shutdown();
      await Promise.all(adapters.map((a) => a.close()));
      await producer.disconnect();
      await probe.close();
      await backlog.close();
      redis.disconnect();
      await pool.end();
    },
  };
}
