import { AssignerProtocol, type Admin } from 'kafkajs';
import type { Config } from '../../src/config.js';
import { CONSUMER_GROUPS, channelTopics, fanOutTopic, retryGroupOf } from '../../src/kafka/names.js';
import { retryTopic } from '../../src/kafka/names.js';
import type { Channel } from '../../src/events/index.js';

export const CHANNELS = Object.keys(CONSUMER_GROUPS) as Channel[];

/** A consumer group a worker runs for a channel: the contract group on the event topics, or its retry group. */
export interface ChannelGroup {
  /** `email`, or `email retry`. */
  name: string;
  groupId: string;
  topics: string[];
}

/** Every channel group of a prefix, main and retry. */
export function channelGroups(prefix: string, retryLevels: number): ChannelGroup[] {
  return CHANNELS.flatMap((channel) => [
    {
      name: channel,
      groupId: `${prefix}${CONSUMER_GROUPS[channel]}`,
      topics: channelTopics(channel, prefix),
    },
    ...(retryLevels > 0
      ? [
          {
            name: `${channel} retry`,
            groupId: `${prefix}${retryGroupOf(channel)}`,
            topics: Array.from({ length: retryLevels }, (_, i) => retryTopic(channel, i + 1, prefix)),
          },
        ]
      : []),
  ]);
}

/** One consumer group as its coordinator sees it, with each member's partitions decoded. */
export interface GroupView extends ChannelGroup {
  state: string;
  members: Array<{ memberId: string; clientHost: string; partitions: Record<string, number[]> }>;
}

/** describeGroups is answered by each group's coordinator, the broker that also judges whether a member is alive. */
export async function describeGroups(admin: Admin, groups: ChannelGroup[]): Promise<GroupView[]> {
  const described = (await admin.describeGroups(groups.map((g) => g.groupId))).groups;
  return groups.map((group) => {
    const found = described.find((d) => d.groupId === group.groupId);
    return {
      ...group,
      state: found?.state ?? 'Unknown',
      members: (found?.members ?? []).map((member) => ({
        memberId: member.memberId,
        clientHost: member.clientHost,
        partitions: decodePartitions(member.memberAssignment),
      })),
    };
  });
}

function decodePartitions(assignment: Buffer): Record<string, number[]> {
  if (!assignment?.length) return {};
  const decoded = AssignerProtocol.MemberAssignment.decode(assignment);
  return Object.fromEntries(
    Object.entries(decoded?.assignment ?? {}).map(([topic, partitions]) => [
      topic,
      [...partitions].sort((a, b) => a - b),
    ]),
  );
}

const held = (view: GroupView) =>
  view.members
    .flatMap((m) => Object.entries(m.partitions).flatMap(([topic, ps]) => ps.map((p) => `${topic}:${p}`)))
    .sort();

const wanted = (view: GroupView, partitionsOf: (topic: string) => number) =>
  view.topics.flatMap((topic) => Array.from({ length: partitionsOf(topic) }, (_, p) => `${topic}:${p}`)).sort();

/** How many partitions each topic of a deployment has: the fan-out topics a count of their own, the others the common one. */
export function partitionsOf(
  config: Pick<Config, 'KAFKA_TOPIC_PREFIX' | 'KAFKA_TOPIC_PARTITIONS' | 'FAN_OUT_PARTS'>,
): (topic: string) => number {
  const fanOut = new Set(CHANNELS.map((channel) => fanOutTopic(channel, config.KAFKA_TOPIC_PREFIX)));
  return (topic) => (fanOut.has(topic) ? config.FAN_OUT_PARTS : config.KAFKA_TOPIC_PARTITIONS);
}

/** Stable, with exactly `members` members that between them hold every partition of the group's topics, once. */
export function settled(
  view: GroupView,
  { members, partitionsOf }: { members: number; partitionsOf: (topic: string) => number },
): boolean {
  if (view.state !== 'Stable' || view.members.length !== members) return false;
  return JSON.stringify(held(view)) === JSON.stringify(wanted(view, partitionsOf));
}

export const describeView = (view: GroupView) =>
  `${view.name}: ${view.state}, ${view.members.length} member(s) [${view.members.map((m) => Object.values(m.partitions).flat().length).join(', ')} partitions]`;
