import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import pMap from 'p-map';
import pRetry from 'p-retry';
import type { ChannelAdapter, SendResult } from '../channels/channel.js';
import { parseEvent, type Channel, type GatewayEvent } from '../events/index.js';
import type { Logger } from '../logger.js';
import type { PreferencesRepository } from '../preferences/preferences.repository.js';
import { channelEnabled, type UserProfile } from '../preferences/profile.js';
import { QUIET_CHANNELS, URGENT_EVENTS, quietUntil } from '../preferences/quiet-hours.js';
import type { Rendered, TemplateRenderer } from '../templates/renderer.js';
import { CONSUMER_GROUPS, topicsFor } from './consumer-groups.js';
import type { DeadLetterWriter, FailedRecord } from './dead-letters.js';
import { classifyFailure } from './failures.js';
import { idempotencyKeyOf, type DeliveriesRepository, type DeliveryKey } from './deliveries.repository.js';
import type { ItinerariesRepository } from './itineraries.repository.js';
import { addressOf, recipientsOf } from './recipients.js';

export interface ChannelConsumerOptions {
  kafka: Kafka;
  channel: Channel;
  adapter: ChannelAdapter;
  renderer: TemplateRenderer;
  preferences: PreferencesRepository;
  itineraries: ItinerariesRepository;
  deliveries: DeliveriesRepository;
  deadLetter: DeadLetterWriter;
  logger: Logger;
  /** Prepended to topics and the group id (tests run on their own). */
  prefix?: string;
  /** Sends in flight at once for one event's recipients (a disruption may reach thousands). */
  fanOutConcurrency?: number;
  /** Where a group with no committed offsets starts. */
  fromBeginning?: boolean;
}

/**
 * One channel's consumer group: for each event, finds the people concerned, applies their preferences, claims each
 * delivery, renders and sends it. Offsets are resolved only after every recipient of a record was delivered, skipped
 * or dead-lettered; a transient failure is thrown, so the record is read again (and meets the same claims).
 */
export function createChannelConsumer(options: ChannelConsumerOptions) {
  const { kafka, channel, adapter, renderer, deliveries, deadLetter, prefix = '', fanOutConcurrency = 16 } = options;
  for (const name of ['kafka', 'adapter', 'renderer', 'preferences', 'itineraries', 'deliveries', 'deadLetter', 'logger'] as const) {
    if (!options[name]) throw new TypeError(`createChannelConsumer: ${name} is required`);
  }
  const groupId = `${prefix}${CONSUMER_GROUPS[channel]}`;
  const logger = options.logger.child({ component: 'channel-consumer', channel });
  let consumer: Consumer | undefined;

  async function deliver(event: GatewayEvent, profile: UserProfile, record: FailedRecord): Promise<void> {
    const key: DeliveryKey = { eventId: event.eventId, eventType: event.eventType, channel, userId: profile.userId };
    if (!channelEnabled(profile, event.eventType, channel)) {
      return deliveries.markSkipped(key, { code: 'PREFERENCE_OFF', message: `${channel} is off for ${event.eventType}` });
    }
    const address = addressOf(channel, profile);
    if ('skip' in address) return deliveries.markSkipped(key, { code: address.skip, message: address.reason });
    const holdUntil = quietHoursHold(profile, event, channel);
    if (holdUntil) {
      const rendered = renderer.render({ eventType: event.eventType, channel, locale: profile.locale, event, recipient: profile });
      await deliveries.defer(key, { recipient: address.to, body: rendered.text, deliverAfter: holdUntil });
      return;
    }
    const claim = await deliveries.claim(key);
    if (!claim) return; // delivered, or being delivered, by someone else: never twice

    let result: SendResult;
    let rendered: Rendered;
    try {
      rendered = renderer.render({ eventType: event.eventType, channel, locale: profile.locale, event, recipient: profile });
      result = await adapter.send({
        channel, to: address.to, userId: profile.userId, eventId: event.eventId, eventType: event.eventType,
        idempotencyKey: idempotencyKeyOf(key), subject: rendered.subject, text: rendered.text, html: rendered.html, payload: rendered.payload,
      });
    } catch (error) {
      return failed(error, { event, profile, record, key, claim });
    }
    // The provider has it: from here on the claim is never released, or a retry would send it again. Recording is
    // retried instead; should it still fail, the claim stays 'sending' until its lease ends (the one duplicate window).
    const sent = { ...result, recipient: address.to, subject: rendered.subject, body: rendered.text };
    await pRetry(() => deliveries.markSent(claim.id, sent), { retries: 5, minTimeout: 100, maxTimeout: 2_000 });
  }

  async function failed(error: unknown, ctx: { event: GatewayEvent; profile: UserProfile; record: FailedRecord; key: DeliveryKey; claim: { id: string; attempt: number } }) {
    const failure = classifyFailure(error);
    if (failure.retriable) {
      await deliveries.release(ctx.claim.id, failure);
      throw error;
    }
    await deadLetter({
      channel, consumerGroup: groupId, record: ctx.record, eventId: ctx.event.eventId, eventType: ctx.event.eventType, userId: ctx.profile.userId,
      idempotencyKey: idempotencyKeyOf(ctx.key), attempts: ctx.claim.attempt, firstFailedAt: new Date(), errorClass: 'permanent', ...failure,
    });
    await deliveries.markFailed(ctx.claim.id, failure);
    logger.warn({ code: failure.code, eventId: ctx.event.eventId, userId: ctx.profile.userId }, 'delivery failed permanently; dead-lettered');
  }

  async function handle(record: FailedRecord, message: KafkaMessage): Promise<void> {
    const parsed = parseRecord(message);
    if (!parsed.ok) {
      await deadLetter({ channel, consumerGroup: groupId, record, attempts: 1, firstFailedAt: new Date(), errorClass: 'permanent', code: parsed.code, message: parsed.message });
      logger.warn({ topic: record.topic, offset: record.offset, code: parsed.code }, 'poison record dead-lettered');
      return;
    }
    for await (const page of recipientsOf(parsed.event, options)) {
      await pMap(page, (profile) => deliver(parsed.event, profile, record), { concurrency: fanOutConcurrency });
    }
  }

  return {
    groupId,
    async start(): Promise<void> {
      consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 2_000, retry: { retries: 8 } });
      await consumer.connect();
      await consumer.subscribe({ topics: topicsFor(channel).map((t) => `${prefix}${t}`), fromBeginning: options.fromBeginning ?? true });
      await consumer.run({
        partitionsConsumedConcurrently: 3,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
          for (const message of batch.messages) {
            if (!isRunning() || isStale()) break;
            const record = { topic: batch.topic, partition: batch.partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value };
            await handle(record, message);
            resolveOffset(message.offset);
            await heartbeat();
          }
          await commitOffsetsIfNecessary();
        },
      });
      logger.info({ groupId }, 'channel consumer running');
    },
    async stop(): Promise<void> {
      await consumer?.disconnect();
    },
  };
}

export type ChannelConsumer = ReturnType<typeof createChannelConsumer>;

/** SMS and WhatsApp that are not urgent wait for the end of the person's quiet hours; nothing else waits. */
function quietHoursHold(profile: UserProfile, event: GatewayEvent, channel: Channel): Date | undefined {
  if (!profile.quietHours || !QUIET_CHANNELS.has(channel) || URGENT_EVENTS.has(event.eventType)) return undefined;
  return quietUntil(profile.quietHours);
}

type Parsed = { ok: true; event: GatewayEvent } | { ok: false; code: string; message: string };

function parseRecord(message: KafkaMessage): Parsed {
  let body: unknown;
  try {
    body = JSON.parse(message.value?.toString('utf8') ?? '');
  } catch {
    return { ok: false, code: 'NOT_JSON', message: 'record value is not JSON' };
  }
  const result = parseEvent(body);
  if (result.ok) return result;
  return { ok: false, code: 'EVENT_INVALID', message: result.issues.map((i) => `${i.path}: ${i.message}`).join('; ') };
}
