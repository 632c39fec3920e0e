import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import pLimit from 'p-limit';
import pMap from 'p-map';
import type { Breakers } from '../channels/breaker.js';
import { PROVIDER_OF } from '../channels/breaker.js';
import { parseEvent, type Channel, type GatewayEvent } from '../events/index.js';
import type { Logger } from '../logger.js';
import type { PreferencesRepository } from '../store/preferences.repository.js';
import type { UserProfile } from '../preferences/profile.js';
import type { FailedRecord } from './dead-letters.js';
import type { DeliveriesRepository } from '../store/deliveries.repository.js';
import type { DeliverTo, Outcome } from './delivery.pipeline.js';
import type { FailureRouter } from './failure.router.js';
import type { ItinerariesRepository } from '../store/itineraries.repository.js';
import { FETCH_SIZES } from '../kafka/names.js';
import { CONTINUE, runPaced, type Step } from './paced-runner.js';
import { recipientById, recipientsOf } from './recipients.js';
import { resumeTopics } from './resume-topics.js';
import { readRetryEnvelope } from './retry-record.js';
import { ingestTimeOf } from './ingest-time.js';
import type { DisruptionsRepository } from '../store/disruptions.repository.js';
import { describeError, RecordHandedOverError } from './record-faults.js';
import { partOf, type FanOut } from './fan-out.js';
import type { OutageGate } from './outage-gate.js';

export interface ChannelConsumerOptions {
  kafka: Kafka;
  channel: Channel;
  /** Kafka group id (the contract name, prefixed in tests). */
  groupId: string;
  topics: string[];
  deliverTo: DeliverTo;
  deliveries: Pick<DeliveriesRepository, 'markFailed'>;
  router: FailureRouter;
  preferences: PreferencesRepository;
  itineraries: ItinerariesRepository;
  /**
   * The contract group's: a disruption read from its event topic is split into parts on the fan-out topic (one of
   * `topics`), which the group's members share. Without it, one member delivers a disruption to all its travellers.
   */
  fanOut?: FanOut;
  /** Which disruption is the latest word on a journey; without it, no notice is superseded. */
  disruptions?: DisruptionsRepository;
  breakers: Breakers;
  /** Shared by the worker's consumers: an outage of a server pauses them all until it answers again. */
  outages?: OutageGate;
  logger: Logger;
  /** The retry level these topics are (0 for the event topics, n for notifications.<channel>.retry.n). */
  levelOf: (topic: string) => number;
  /** Records in flight at once in this group (records of one key stay in order). */
  concurrency?: number;
  /**
   * Deliveries in flight at once in this group, over all its records: a disruption's parts are several records, and
   * their recipients share this bound rather than each part having its own (a rebalance waits for what is in flight).
   */
  fanOutConcurrency?: number;
  fromBeginning?: boolean;
}

/**
 * A consumer group of one channel, on the event topics or on its retry topics: for each record, finds the people
 * concerned and delivers to each through the pipeline. Transient failures move on to the next retry topic, permanent
 * ones to the dead-letter topic; an open breaker pauses the whole group until it half-opens. Records on a retry topic
 * wait (their partition paused) until they are due.
 */
export function createChannelConsumer(options: ChannelConsumerOptions) {
  const {
    kafka,
    channel,
    groupId,
    topics,
    deliverTo,
    deliveries,
    router,
    breakers,
    levelOf,
    concurrency = 64,
    fanOutConcurrency = concurrency,
  } = options;
  const logger = options.logger.child({ component: 'channel-consumer', channel, groupId });
  let consumer: Consumer | undefined;
  let unsubscribe: (() => void)[] = [];
  // Aborted as the consumer begins to stop: sends still waiting for a connection are given up, and their records left
  // for the group's next owner, rather than waited for.
  const stopping = new AbortController();

  async function settle(
    outcome: Outcome,
    ctx: {
      record: FailedRecord;
      event: GatewayEvent;
      profile: UserProfile;
      level: number;
      attempts: number;
      firstFailedAt: Date;
    },
  ) {
    if (outcome.kind === 'done' || outcome.kind === 'paused' || outcome.kind === 'handed-over') return;
    const base = {
      record: ctx.record,
      event: ctx.event,
      userId: ctx.profile.userId,
      attempts: ctx.attempts + 1,
      firstFailedAt: ctx.firstFailedAt,
    };
    if (outcome.kind === 'held') {
      const failure = { code: 'CLAIM_HELD', message: 'another worker holds this delivery', retriable: true };
      return router.transient({ ...base, failure }, ctx.level, outcome.until);
    }
    const failed = { ...base, failure: outcome.failure };
    const routed =
      outcome.kind === 'transient' ? await router.transient(failed, ctx.level) : await router.permanent(failed);
    // Only now that the dead letter is written does the ledger say so: had the write failed, the re-read record would
    // have found a settled row, and the dead letter would be gone.
    if (routed === 'dead-lettered' && outcome.claimId)
      await deliveries.markFailed(outcome.claimId, outcome.failure, 'dead_lettered');
    if (outcome.kind === 'transient') return;
    logger.warn(
      { code: outcome.failure.code, eventId: ctx.event.eventId, userId: ctx.profile.userId },
      'delivery failed permanently; dead-lettered',
    );
  }

  const inFlight = pLimit(fanOutConcurrency);
  const isFanOut = (topic: string) => options.fanOut !== undefined && topic === options.fanOut.topic;
  /** A retry, or a fan-out part: it carries where its event came from and when the gateway took it in. */
  const carriesEnvelope = (topic: string) => levelOf(topic) > 0 || isFanOut(topic);

  async function handle(
    record: FailedRecord,
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
    handOver: AbortSignal,
  ): Promise<Step> {
    const level = levelOf(record.topic);
    const fanOutPart = isFanOut(record.topic);
    const envelope = carriesEnvelope(record.topic)
      ? readRetryEnvelope(message, record.topic, record.partition)
      : undefined;
    if (envelope && envelope.dueAt.getTime() > Date.now()) return { next: 'pause-partition', until: envelope.dueAt };
    const ingestedAt = ingestTimeOf(message, envelope);
    const original = { ...(envelope ? { ...record, ...envelope.original } : record), ingestedAt };
    const firstFailedAt = envelope?.firstFailedAt ?? new Date();
    const parsed = parseRecord(message);
    if (!parsed.ok) {
      await router.permanent({
        record: original,
        failure: { code: parsed.code, message: parsed.message, retriable: false },
        attempts: 1,
        firstFailedAt,
      });
      logger.warn({ topic: record.topic, offset: record.offset, code: parsed.code }, 'poison record dead-lettered');
      return CONTINUE;
    }
    const event = parsed.event;
    // A disruption fresh from its event topic goes to the fan-out topic in parts, which come back to the group's
    // members; before any recipient, so nothing of it is delivered by this member alone.
    if (event.eventType === 'TRAVEL_DISRUPTION' && options.fanOut && !envelope) {
      await options.fanOut.split(record, ingestedAt);
      return CONTINUE;
    }
    // Asked once per record, before any recipient: a notice of the same journey taken in later replaces this one.
    const supersededBy =
      event.eventType === 'TRAVEL_DISRUPTION' ? await options.disruptions?.supersededBy(event, ingestedAt) : undefined;
    const pages = envelope?.userId
      ? single(recipientById(event, envelope.userId, options))
      : recipientsOf(event, { ...options, part: fanOutPart ? partOf(message) : undefined });
    let paused = false;
    // Some recipients given up unsent because this member hands its records on: the record stays unsettled, and its
    // next owner delivers to them (and finds the others' deliveries settled).
    let handedOver = false;
    for await (const page of pages) {
      await pMap(
        page,
        async (profile) => {
          const outcome = await inFlight(() =>
            handOver.aborted
              ? ({ kind: 'handed-over' } as const)
              : deliverTo(event, profile, {
                  replay: Boolean(envelope?.replayOf),
                  supersededBy,
                  ingestedAt,
                  signal: handOver,
                }),
          );
          paused ||= outcome.kind === 'paused';
          handedOver ||= outcome.kind === 'handed-over';
          await settle(outcome, {
            record: original,
            event,
            profile,
            level,
            attempts: envelope?.attempts ?? 0,
            firstFailedAt,
          });
          // A disruption to thousands takes longer than a session: the group must not think this member dead. After
          // every recipient, not every page: a page of slow sends alone can outlast the session (kafkajs sends one
          // heartbeat per interval, however often it is asked).
          await heartbeat();
        },
        { concurrency: fanOutConcurrency },
      );
      if (handedOver) throw new RecordHandedOverError();
      if (paused) return { next: 'pause-all' };
    }
    return CONTINUE;
  }

  return {
    groupId,
    async start(): Promise<void> {
      // A dead member is noticed after 6 s (the broker's smallest session by default), and the survivors hear of the
      // rebalance at their next heartbeat. kafkajs heartbeats only between fetches, and an idle or paused consumer
      // waits maxWaitTimeInMs (5 s by default) per fetch: 1 s keeps every member within a second of the news, so
      // partitions move within 10 s of a crash.
      consumer = kafka.consumer({
        groupId,
        sessionTimeout: 6_000,
        heartbeatInterval: 1_000,
        maxWaitTimeInMs: 1_000,
        retry: { retries: 8 },
        ...FETCH_SIZES,
      });
      const resumeAll = () => resumeTopics(consumer, topics, logger);
      // Paused by an open breaker or by an outage: resumed once neither holds any more.
      const mayResume = () => breakers.state(PROVIDER_OF[channel]) !== 'open' && !options.outages?.closed;
      unsubscribe = [
        breakers.onStateChange((provider, state) => {
          // Half-open lets the next send through as the trial; if it fails the breaker opens and pauses us again.
          if (provider === PROVIDER_OF[channel] && state !== 'open' && mayResume()) resumeAll();
        }),
        ...(options.outages ? [options.outages.onReopen(() => mayResume() && resumeAll())] : []),
      ];
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: options.fromBeginning ?? true });
      await runPaced(consumer, topics, handle, {
        concurrency,
        stopping: stopping.signal,
        ...(options.outages && { outages: options.outages }),
        onPoison: async (record, message, error) => {
          const envelope = carriesEnvelope(record.topic) ? safeEnvelope(message, record) : undefined;
          const failure = {
            code: 'UNHANDLED',
            message: `record could not be handled: ${describeError(error)}`,
            retriable: false,
          };
          const parsed = parseRecord(message);
          await router.permanent({
            record: {
              ...(envelope ? { ...record, ...envelope.original } : record),
              ingestedAt: ingestTimeOf(message, envelope),
            },
            failure,
            attempts: (envelope?.attempts ?? 0) + 1,
            firstFailedAt: envelope?.firstFailedAt ?? new Date(),
            ...(parsed.ok && { event: parsed.event }),
            ...(envelope?.userId && { userId: envelope.userId }),
          });
          // The error's code and message only: a database error's detail quotes the row, personal data included.
          logger.error(
            { topic: record.topic, partition: record.partition, offset: record.offset, error: describeError(error) },
            'a record that kept failing was dead-lettered',
          );
        },
        onUnwritable: (record, error) => {
          logger.error(
            { topic: record.topic, partition: record.partition, offset: record.offset, error: describeError(error) },
            'a record that could not even be dead-lettered was passed over; it is still in Kafka at this offset',
          );
        },
        // The breaker may have half-opened or closed (or the outage passed) while the batch that paused was finishing
        // its records.
        afterPauseAll: () => {
          if (mayResume()) resumeAll();
        },
      });
      logger.info('channel consumer running');
    },
    async stop(): Promise<void> {
      unsubscribe.forEach((stopListening) => stopListening());
      stopping.abort();
      await consumer?.disconnect();
    },
  };
}

export type ChannelConsumer = ReturnType<typeof createChannelConsumer>;

/** The retry envelope, when its headers can be read at all: a record that failed may have broken ones. */
function safeEnvelope(message: KafkaMessage, record: FailedRecord) {
  try {
    return readRetryEnvelope(message, record.topic, record.partition);
  } catch {
    return undefined;
  }
}

async function* single(profile: Promise<UserProfile | undefined>): AsyncGenerator<UserProfile[]> {
  const found = await profile;
  if (found) yield [found];
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
