/**
 * Consumer lag per channel group, as an operator reads it from outside: each topic's end offset minus the group's
 * committed offset, summed over the group's partitions.
 */
import type { Admin } from 'kafkajs';
import { CONSUMER_GROUPS, ITINERARY_PROJECTION_GROUP, channelTopics } from '../../../src/kafka/names.js';
import { CHANNELS, EVENT_TOPICS, topicName } from '../../../src/events/index.js';

export interface WatchedGroup {
  name: string;
  groupId: string;
  topics: string[];
}

/** The four channel groups (the contract names) and the itinerary projection, which reads the booking topics. */
export function watchedGroups(prefix: string): WatchedGroup[] {
  return [
    ...CHANNELS.map((channel) => ({
      name: channel,
      groupId: `${prefix}${CONSUMER_GROUPS[channel]}`,
      topics: channelTopics(channel, prefix),
    })),
    {
      name: 'projection',
      groupId: `${prefix}${ITINERARY_PROJECTION_GROUP}`,
      topics: ['booking-confirmed', 'booking-cancelled'].map((t) => `${prefix}${t}`),
    },
  ];
}

export interface LagSample {
  /** ms since the phase started */
  t: number;
  lag: Record<string, number>;
}

export function createLagReader(admin: Admin, prefix: string) {
  const groups = watchedGroups(prefix);
  const topics = EVENT_TOPICS.map((t) => topicName(t, prefix));

  /** Records not yet committed, per group; a group that committed nothing yet counts from the log start. */
  async function read(): Promise<Record<string, number>> {
    const ends = new Map<string, { high: number; low: number }>();
    await Promise.all(
      topics.map(async (topic) => {
        for (const p of await admin.fetchTopicOffsets(topic))
          ends.set(`${topic}:${p.partition}`, { high: Number(p.high), low: Number(p.low) });
      }),
    );
    const lag: Record<string, number> = {};
    await Promise.all(
      groups.map(async (group) => {
        let total = 0;
        for (const { topic, partitions } of await admin.fetchOffsets({
          groupId: group.groupId,
          topics: group.topics,
        })) {
          for (const p of partitions) {
            const end = ends.get(`${topic}:${p.partition}`);
            if (!end) continue;
            const committed = Number(p.offset);
            total += Math.max(0, end.high - (committed < 0 ? end.low : Math.max(committed, end.low)));
          }
        }
        lag[group.name] = total;
      }),
    );
    return lag;
  }

  return { groups, read };
}

export type LagReader = ReturnType<typeof createLagReader>;

/** Lag of the channel groups only (the projection does not deliver anything). */
export const channelLag = (lag: Record<string, number>): number => CHANNELS.reduce((sum, c) => sum + (lag[c] ?? 0), 0);
