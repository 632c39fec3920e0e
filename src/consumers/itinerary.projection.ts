import type { Consumer, Kafka } from 'kafkajs';
import { parseEvent, topicName } from '../events/index.js';
import type { Logger } from '../logger.js';
import type { PreferencesRepository } from '../preferences/preferences.repository.js';
import { FETCH_SIZES, ITINERARY_PROJECTION_GROUP } from './consumer-groups.js';
import { CONTINUE, runPaced } from './paced-runner.js';
import type { ItinerariesRepository } from './itineraries.repository.js';

/**
 * Who travels on what, kept from the booking topics: a confirmation records the traveller and their itinerary, a
 * cancellation ends it. Disruptions are routed from this table. Writes are idempotent, so redelivery is harmless.
 */
export function createItineraryProjection({ kafka, itineraries, preferences, logger, prefix = '', concurrency = 64 }: {
  kafka: Kafka;
  itineraries: ItinerariesRepository;
  preferences: PreferencesRepository;
  logger: Logger;
  prefix?: string;
  /** Records projected at once (one PNR's in order). */
  concurrency?: number;
}) {
  const log = logger.child({ component: 'itinerary-projection' });
  let consumer: Consumer | undefined;
  return {
    async start(): Promise<void> {
      consumer = kafka.consumer({ groupId: `${prefix}${ITINERARY_PROJECTION_GROUP}`, sessionTimeout: 10_000, heartbeatInterval: 2_000, ...FETCH_SIZES });
      await consumer.connect();
      const topics = [topicName('booking-confirmed', prefix), topicName('booking-cancelled', prefix)];
      await consumer.subscribe({ topics, fromBeginning: true });
      // Bookings of different PNRs are projected together; a PNR's confirmation always before its cancellation.
      await runPaced(consumer, topics, async ({ topic, partition, offset }, message) => {
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
      }, { concurrency });
    },
    async stop(): Promise<void> {
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
