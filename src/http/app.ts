import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { ReplayProducer } from '../admin/replay-producer.js';
import { createBreakerStateStore } from '../channels/breaker-state.store.js';
import type { Config } from '../config.js';
import { createDeliveriesRepository } from '../store/deliveries.repository.js';
import { createDeliveryHistoryRepository } from '../store/delivery-history.repository.js';
import { createInboxRepository } from '../store/inbox.repository.js';
import { createItinerariesRepository } from '../store/itineraries.repository.js';
import { createErasure } from '../store/erasure.js';
import { createUsersRepository } from '../store/users.repository.js';
import { createPreferencesRepository } from '../store/preferences.repository.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics.js';
import type { KafkaProbe } from '../kafka/probe.js';
import type { EventQueuePublisher } from '../queue/event-queue.publisher.js';
import { createTemplateRenderer } from '../templates/renderer.js';
import { adminRoutes } from './admin.routes.js';
import { authRoutes } from './auth.routes.js';
import { registerErrorHandling } from './errors.js';
import { erasureRoutes } from './erasure.routes.js';
import { eventsRoutes } from './events.routes.js';
import { healthRoutes } from './health.routes.js';
import { postgresAnswers, redisAnswers } from '../net/readiness.js';
import { historyRoutes } from './history.routes.js';
import { inboxRoutes } from './inbox.routes.js';
import { metricsRoutes } from './metrics.routes.js';
import { createIdempotencyStore } from './idempotency.js';
import { itinerariesRoutes } from './itineraries.routes.js';
import { registerJsonBodyParser } from './json-body.js';
import { pagesRoutes } from './pages.routes.js';
import { preferencesRoutes } from './preferences.routes.js';
import { previewsRoutes } from './previews.routes.js';
import { registerRateLimits } from './rate-limits.js';
import { redriveRoutes } from './redrive.routes.js';
import { statusWebhooksRoutes } from './status-webhooks.routes.js';
import { createStatusWebhooksRepository } from '../store/status-webhooks.repository.js';
import { createOptOutsRepository } from '../store/opt-outs.repository.js';
import { fieldCipherOf } from '../util/field-cipher.js';
import { createAddressGuard } from '../webhooks/address-guard.js';
import { createEventSources } from '../webhooks/event-sources.js';
import { attachRealtime, type RealtimeServer } from './realtime.js';
import { createHandshakeLimit } from './handshake-limit.js';
import { registerSecurityHeaders } from './security-headers.js';
import { templatesRoutes } from './templates.routes.js';
import { twilioWebhookRoutes } from './twilio-webhooks.routes.js';
import { userGuard } from './guards.js';
import { registerRouteSchemas } from './route-schemas.js';
import { registerOpenApi } from './openapi.js';

/** What the HTTP app needs; built by the composition root (or a test) and closed with the app. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  redis: Redis;
  pool: pg.Pool;
  eventQueue: EventQueuePublisher;
  /** The Kafka producer dead-letter replays go through. */
  replays: ReplayProducer;
  /** The process's metrics, served at `/metrics`. */
  metrics: GatewayMetrics;
  /** Whether Kafka answers, for `/readyz`. */
  kafka: KafkaProbe;
}

/** Partners' events are small; anything larger is a mistake or an attack, refused before it is read whole. */
export const BODY_LIMIT_BYTES = 64 * 1024;

const PAGES = ['alerts.html', 'previews.html', 'preferences.html', 'preferences.js', 'admin.html'] as const;

/**
 * Builds the HTTP app (and the Socket.IO server on its HTTP server) without listening: tests call `inject` or
 * `listen({ port: 0 })`, main.ts calls `listen`. Closing the app closes the clients it was given.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, logger, redis, pool, eventQueue, replays, metrics, kafka } = deps;
  const app = Fastify({
    loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    // request.ip, which the rate limits count by, is the client a trusted load balancer names; by default none is.
    trustProxy: config.TRUST_PROXY,
    // Registration does no I/O, but a machine under heavy load can take longer than Fastify's 10 s default.
    pluginTimeout: 60_000,
    // One log line per request costs more than the request itself at partner volumes; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });
  registerErrorHandling(app);
  countRequests(app, metrics);
  registerRouteSchemas(app);
  // Events are JSON; a text/plain body is refused as an unsupported type (415) rather than read as a string.
  app.removeContentTypeParser('text/plain');
  registerJsonBodyParser(app);

  await registerSecurityHeaders(app, { pages: PAGES });
  await registerOpenApi(app);
  await registerRateLimits(app, {
    redis,
    limits: config,
    apiKeys: config.INGEST_API_KEYS,
    namespace: config.KAFKA_TOPIC_PREFIX,
  });

  // Built once and shared: the user routes, the sockets and the Twilio webhooks read and write the same cached profiles.
  const cipher = fieldCipherOf(config);
  const preferences = createPreferencesRepository({ pool, redis, cipher });
  const io = attachRealtime({
    server: app.server,
    jwtSecret: config.JWT_SECRET,
    redis,
    pool,
    cipher,
    logger,
    socketsPerUser: config.SOCKETS_PER_USER,
    handshakeLimit: createHandshakeLimit({
      redis,
      max: config.RATE_LIMIT_SOCKETS,
      windowMs: config.RATE_LIMIT_WINDOW_MS,
      trustProxy: config.TRUST_PROXY,
      namespace: config.KAFKA_TOPIC_PREFIX,
    }),
    isErased: async (userId) => (await preferences.get(userId))?.erased === true,
  });
  app.decorate('io', io);
  app.addHook('preClose', async () => {
    await io.close();
  });
  app.addHook('onClose', async () => {
    await eventQueue.close();
    await replays.close();
    await kafka.close();
    redis.disconnect();
    await pool.end();
  });

  const breakerStates = createBreakerStateStore(redis, config.KAFKA_TOPIC_PREFIX);
  await app.register(healthRoutes, {
    checks: {
      kafka: () => kafka.answers(),
      rabbitmq: () => eventQueue.isConnected(),
      redis: redisAnswers(redis),
      postgres: postgresAnswers(pool),
    },
    breakers: breakerStates.read,
  });
  await app.register(metricsRoutes, { metrics, breakers: breakerStates.read });

  const statusWebhooks = createStatusWebhooksRepository(pool, cipher);
  const sources = createEventSources({ webhooks: statusWebhooks, logger: logger.child({ component: 'webhooks' }) });
  app.addHook('onClose', async () => sources.close());
  await app.register(eventsRoutes, {
    apiKeys: config.INGEST_API_KEYS,
    eventQueue,
    idempotency: createIdempotencyStore(redis),
    accepted: metrics.eventsAccepted,
    sources,
    clockSkewSeconds: config.EVENT_CLOCK_SKEW_SECONDS,
  });
  await app.register(authRoutes, { jwtSecret: config.JWT_SECRET, nodeEnv: config.NODE_ENV });
  const authorize = userGuard({ jwtSecret: config.JWT_SECRET, adminToken: config.ADMIN_TOKEN });
  await app.register(itinerariesRoutes, { itineraries: createItinerariesRepository(pool, cipher), authorize });
  await app.register(preferencesRoutes, { preferences, authorize });
  await app.register(erasureRoutes, { erasure: createErasure({ pool, preferences, cipher }), authorize });
  await app.register(inboxRoutes, { inbox: createInboxRepository(pool, cipher), authorize });
  await app.register(historyRoutes, {
    history: createDeliveryHistoryRepository(pool),
    authorize,
    adminToken: config.ADMIN_TOKEN,
    adminRateLimit: config.RATE_LIMIT_ADMIN,
  });
  await app.register(twilioWebhookRoutes, {
    authToken: config.TWILIO_AUTH_TOKEN,
    publicUrl: config.PUBLIC_URL,
    pool,
    deliveries: createDeliveriesRepository(pool, { cipher }),
    users: createUsersRepository(pool, cipher),
    preferences,
    optOuts: createOptOutsRepository(pool, cipher),
  });
  await app.register(adminRoutes, {
    adminToken: config.ADMIN_TOKEN,
    rateLimit: config.RATE_LIMIT_ADMIN,
    pool,
    cipher,
    replays,
  });
  await app.register(redriveRoutes, {
    adminToken: config.ADMIN_TOKEN,
    rateLimit: config.RATE_LIMIT_ADMIN,
    pool,
    replays,
    logger: logger.child({ component: 'redrive' }),
    settings: {
      maxRunning: config.REDRIVE_MAX_RUNNING,
      stallTimeoutMs: config.REDRIVE_STALL_TIMEOUT_MS,
      // An api stopping leaves the rest of its deadline to the clients it closes after.
      stopWaitMs: Math.floor(config.SHUTDOWN_TIMEOUT_MS / 2),
    },
  });
  await app.register(statusWebhooksRoutes, {
    adminToken: config.ADMIN_TOKEN,
    rateLimit: config.RATE_LIMIT_ADMIN,
    apiKeys: config.INGEST_API_KEYS,
    requireHttps: config.NODE_ENV === 'production',
    addresses: createAddressGuard({
      blockPrivate: config.WEBHOOK_BLOCK_PRIVATE,
      allowed: config.WEBHOOK_ALLOWED_HOSTS,
    }),
    webhooks: statusWebhooks,
    sources,
  });
  await app.register(templatesRoutes, { renderer: createTemplateRenderer() });
  await app.register(previewsRoutes, { config, pool, cipher });
  await app.register(pagesRoutes, { pages: PAGES });
  return app;
}

/** Every answer, 404s and refusals included; a URL no route matched counts as one route, `unmatched`. */
function countRequests(app: FastifyInstance, { httpRequests, httpDuration }: GatewayMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The Socket.IO server sharing this app's HTTP server. */
    io: RealtimeServer;
  }
}
