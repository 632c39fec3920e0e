/**
 * Publishes events from a JSON file (one event or an array) or stdin, for demos:
 *   npm run produce -- booking-confirmed examples/booking-confirmed.json
 *   echo '{"type":"FLIGHT_DELAY","flightNumber":"W2121"}' | npm run produce -- travel-disruption -
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '../src/config.js';
import {
  EVENT_TOPICS,
  TOPIC_BY_EVENT_TYPE,
  assertEvent,
  type EventTopic,
  type GatewayEvent,
} from '../src/events/index.js';
import { createLogger } from '../src/logger.js';
import { createEventProducer } from '../src/producer/event-producer.js';

function readEvents(topic: EventTopic, source: string): GatewayEvent[] {
  const text = readFileSync(source === '-' ? 0 : source, 'utf8');
  const parsed: unknown = JSON.parse(text);
  const eventType = Object.entries(TOPIC_BY_EVENT_TYPE).find(([, t]) => t === topic)![0];
  return (Array.isArray(parsed) ? parsed : [parsed]).map((raw: Record<string, unknown>, index) => {
    // The topic says what the event is when the file does not (the short form of a disruption says it by `type`).
    const candidate = raw.eventType || raw.type ? raw : { ...raw, eventType };
    const event = assertEvent(candidate);
    if (TOPIC_BY_EVENT_TYPE[event.eventType] !== topic) {
      throw new Error(
        `event ${index}: a ${event.eventType} belongs on ${TOPIC_BY_EVENT_TYPE[event.eventType]}, not ${topic}`,
      );
    }
    return event;
  });
}

async function main([topic, source]: string[]): Promise<void> {
  if (!topic || !source || !(EVENT_TOPICS as string[]).includes(topic)) {
    throw new Error(`usage: npm run produce -- <${EVENT_TOPICS.join('|')}> <file.json|->`);
  }
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'produce' });
  const events = readEvents(topic as EventTopic, source);
  const producer = createEventProducer({
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-cli`,
    logger,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
  });
  try {
    for (const receipt of await producer.publishMany(events)) {
      console.log(`published ${receipt.eventId} to ${receipt.topic} (key ${receipt.key})`);
    }
  } finally {
    await producer.stop();
  }
}

main(process.argv.slice(2)).catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
