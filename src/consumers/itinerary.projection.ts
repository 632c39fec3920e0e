import type { Consumer, Kafka, Producer } from 'kafkajs';
import { parseEvent, topicName } from '../events/index.js';
import type { Logger } from '../logger.js';
import type { PreferencesRepository } from '../store/preferences.repository.js';
import { FETCH_SIZES, ITINERARY_PROJECTION_GROUP } from '../kafka/names.js';
import { CONTINUE, runPaced } from './paced-runner.js';
import { deadLetterHeaders } from './dead-letters.js';
import { projectionDlqTopic } from '../kafka/names.js';
import { FAILURES_BEFORE_DEAD_LETTER, describeError } from './record-faults.js';
import type { ItinerariesRepository } from '../store/itineraries.repository.js';
import type { OutageGate } from './outage-gate.js';
import { resumeTopics } from './resume-topics.js';

/**
 * Who travels on what, kept from the booking topics: a confirmation records the traveller and their itinerary, a
 * cancellation ends it. Disruptions are routed from this table. Writes are idempotent, so redelivery is harmless.
 */
export function createItineraryProjection({
  kafka,
  producer,
  itineraries,
  preferences,
  logger,
  prefix = '',
  concurrency = 64,
  outages,
}: {
  kafka: Kafka;
  /** For the dead letters: a booking that cannot be stored goes to `itinerary-projection.dlq`, and the rest goes on. */
  producer: Producer;
  itineraries: ItinerariesRepository;
  preferences: PreferencesRepository;
  logger: Logger;
  prefix?: string;
  /** Records projected at once (one PNR's in order). */
  concurrency?: number;
  /** Shared with the channel consumers: an outage pauses the projection until every dependency answers. */
  outages?: OutageGate;
}) {
  const log = logger.child({ component: 'itinerary-projection' });
  const groupId = `${prefix}${ITINERARY_PROJECTION_GROUP}`;
  let consumer: Consumer | undefined;
  let stopListening: (() => void) | undefined;
  return {
    async start(): Promise<void> {
      consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 2_000, ...FETCH_SIZES });
      await consumer.connect();
      const topics = [topicName('booking-confirmed', prefix), topicName('booking-cancelled', prefix)];
      await consumer.subscribe({ topics, fromBeginning: true });
      const resumeAll = () => resumeTopics(consumer, topics, log);
      stopListening = outages?.onReopen(resumeAll);
      // Bookings of different PNRs are projected together; a PNR's confirmation always before its cancellation.
      await runPaced(
        consumer,
        topics,
        async ({ topic, partition, offset }, message) => {
          const result = parseEvent(safeParse(message.value?.toString('utf8')));
          if (!result.ok) {
            // The channel consumers dead-letter poison records; the projection has nothing to learn from one.
            log.warn({ topic, partition, offset }, 'skipping a record that is not a valid event');
            return CONTINUE;
          }
          const event = result.event;
          if (event.eventType === 'BOOKING_CONFIRMED') await itineraries.recordBooking(event);
          else if (event.eventType === 'BOOKING_CANCELLED') await itineraries.cancelBooking(event);
          else return CONTINUE;
          await preferences.invalidate(event.userId);
          return CONTINUE;
        },
        {
          concurrency,
          ...(outages && { outages, afterPauseAll: () => !outages.closed && resumeAll() }),
          onPoison: async (record, _message, error) => {
            const entry = {
              record,
              consumerGroup: groupId,
              attempts: FAILURES_BEFORE_DEAD_LETTER.record,
              firstFailedAt: new Date(),
              errorClass: 'permanent' as const,
              code: 'UNSTORABLE',
              message: `booking could not be projected: ${describeError(error)}`,
            };
            await producer.send({
              topic: projectionDlqTopic(prefix),
              acks: -1,
              messages: [{ key: record.key, value: record.value, headers: deadLetterHeaders(entry) }],
            });
            log.error(
              { topic: record.topic, partition: record.partition, offset: record.offset, error: describeError(error) },
              'a booking that could not be projected was dead-lettered',
            );
          },
        },
      );
    },
    async stop(): Promise<void> {
      stopListening?.();
      await consumer?.disconnect();
    },
  };
}

function safeParse(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
}
