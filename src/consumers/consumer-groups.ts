import { DEFAULT_ROUTING, EVENT_TYPES, TOPIC_BY_EVENT_TYPE, type Channel, type EventTopic } from '../events/index.js';

/** The Kafka consumer group of each channel (a contract: operators watch their lag by these names). */
export const CONSUMER_GROUPS: Record<Channel, string> = {
  email: 'email-notification-group',
  sms: 'sms-notification-group',
  whatsapp: 'whatsapp-notification-group',
  websocket: 'websocket-notification-group',
};

export const ITINERARY_PROJECTION_GROUP = 'itinerary-projection-group';

/** The group that reads a channel's retry topics (and operators' replays). */
export const retryGroupOf = (channel: Channel) => `${channel}-notification-retry-group`;

/** The topics a channel reads: those of the event types the routing table sends on it. */
export function topicsFor(channel: Channel): EventTopic[] {
  return EVENT_TYPES.filter((type) => DEFAULT_ROUTING[type].includes(channel)).map((type) => TOPIC_BY_EVENT_TYPE[type]);
}

/**
 * What one fetch brings, per partition and in all: a few hundred records a partition keep the records in flight busy,
 * and kafkajs' defaults (1 MB and 10 MB) held a backlog's worth in memory for every group of the process.
 */
export const FETCH_SIZES = { maxBytesPerPartition: 256 * 1024, maxBytes: 2 * 1024 * 1024 } as const;
