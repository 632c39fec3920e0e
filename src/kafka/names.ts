import { DEFAULT_ROUTING, EVENT_TYPES, TOPIC_BY_EVENT_TYPE, type Channel, type EventTopic } from '../events/index.js';

/**
 * Every Kafka name the gateway uses, in one place: the event topics (from the event contract), the retry and
 * dead-letter topics, and the consumer groups. Each takes the deployment's prefix (`KAFKA_TOPIC_PREFIX`).
 */
export { EVENT_TOPICS, topicName } from '../events/index.js';

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
 * `notifications.<channel>.fanout`: a disruption's travellers split into parts, one part per partition, so that every
 * worker of the channel's group delivers some of them (consumers/fan-out.ts).
 */
export const fanOutTopic = (channel: Channel, prefix = '') => `${prefix}notifications.${channel}.fanout`;

/** Every topic a channel's contract group reads: its event topics and its fan-out parts. */
export const channelTopics = (channel: Channel, prefix = '') => [
  ...topicsFor(channel).map((t) => `${prefix}${t}`),
  fanOutTopic(channel, prefix),
];

/**
 * The topics of the gateway's own that the workers of these channels read and write, beside the event topics: the
 * projection's dead letters, and per channel its dead letters, retry topics and fan-out parts (with their own count of
 * partitions). Created by a worker at its start, and by a deployment before its workers.
 */
export function workerTopics(
  channels: readonly Channel[],
  { prefix, retryLevels, fanOutParts }: { prefix: string; retryLevels: number; fanOutParts: number },
): Array<string | { topic: string; partitions: number }> {
  return [
    projectionDlqTopic(prefix),
    ...channels.flatMap((channel) => [
      dlqTopic(channel, prefix),
      ...Array.from({ length: retryLevels }, (_, i) => retryTopic(channel, i + 1, prefix)),
      { topic: fanOutTopic(channel, prefix), partitions: fanOutParts },
    ]),
  ];
}

/**
 * What one fetch brings, per partition and in all: a few hundred records a partition keep the records in flight busy,
 * and kafkajs' defaults (1 MB and 10 MB) held a backlog's worth in memory for every group of the process.
 */
export const FETCH_SIZES = { maxBytesPerPartition: 256 * 1024, maxBytes: 2 * 1024 * 1024 } as const;

/** `notifications.<channel>.retry.<n>`, n from 1: where a delivery waits before its n-th later attempt. */
export const retryTopic = (channel: Channel, level: number, prefix = '') =>
  `${prefix}notifications.${channel}.retry.${level}`;

/** The level n of a retry topic's name; 0 for any other topic (the event topics). */
export const retryLevelOf = (topic: string) => Number(/\.retry\.(\d+)$/.exec(topic)?.[1] ?? 0);

/** `notifications.<channel>.dlq`: what could not be delivered, for an operator to inspect and replay. */
export const dlqTopic = (channel: Channel, prefix = '') => `${prefix}notifications.${channel}.dlq`;

/** Where the itinerary projection puts a booking record it could not store (it has no channel, so no ledger row). */
export const projectionDlqTopic = (prefix = '') => `${prefix}itinerary-projection.dlq`;
