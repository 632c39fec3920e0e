import { AssignerProtocol, type Admin } from 'kafkajs';
import { CONSUMER_GROUPS, topicsFor } from '../../src/consumers/consumer-groups.js';
import type { Channel } from '../../src/events/index.js';

export const CHANNELS = Object.keys(CONSUMER_GROUPS) as Channel[];

/** One consumer group as the broker's coordinator sees it, with each member's partitions decoded. */
export interface GroupView {
  channel: Channel;
  groupId: string;
  state: string;
  members: Array<{ memberId: string; clientHost: string; partitions: Record<string, number[]> }>;
}

/** The four channel groups of a prefix (describeGroups is answered by the coordinator, which also judges liveness). */
export async function describeChannelGroups(admin: Admin, prefix: string): Promise<GroupView[]> {
  const groupIds = CHANNELS.map((channel) => `${prefix}${CONSUMER_GROUPS[channel]}`);
  const { groups } = await admin.describeGroups(groupIds);
  return CHANNELS.map((channel, i) => {
    const group = groups.find((g) => g.groupId === groupIds[i]);
    return {
      channel,
      groupId: groupIds[i]!,
      state: group?.state ?? 'Unknown',
      members: (group?.members ?? []).map((member) => ({
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
  return Object.fromEntries(Object.entries(decoded?.assignment ?? {}).map(([topic, partitions]) => [topic, [...partitions].sort((a, b) => a - b)]));
}

/** Every partition of every topic the channel reads, as `topic:partition`. */
export function partitionsOf(channel: Channel, prefix: string, partitionCount: number): string[] {
  return topicsFor(channel).flatMap((topic) => Array.from({ length: partitionCount }, (_, p) => `${prefix}${topic}:${p}`)).sort();
}

const held = (view: GroupView) =>
  view.members.flatMap((m) => Object.entries(m.partitions).flatMap(([topic, ps]) => ps.map((p) => `${topic}:${p}`))).sort();

/** Stable, with exactly `members` members that between them hold every partition of the channel's topics, once. */
export function settled(view: GroupView, { members, prefix, partitionCount }: { members: number; prefix: string; partitionCount: number }): boolean {
  if (view.state !== 'Stable' || view.members.length !== members) return false;
  return JSON.stringify(held(view)) === JSON.stringify(partitionsOf(view.channel, prefix, partitionCount));
}

export const describeView = (view: GroupView) =>
  `${view.channel}: ${view.state}, ${view.members.length} member(s) [${view.members.map((m) => Object.values(m.partitions).flat().length).join(', ')} partitions]`;
