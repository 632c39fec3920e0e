/**
 * When the role processes are ready, judged from outside as an operator would: the api answers /readyz, the sandbox
 * answers HTTP, the bridge consumes the events queue, and every channel group is Stable with all workers in it.
 */
import amqp from 'amqplib';
import type { Admin } from 'kafkajs';
import { assertAlive, type RoleProcess } from './processes.js';
import { waitFor } from './timing.js';
import type { WatchedGroup } from './lag.js';

export const httpAnswers = (url: string, ok = (status: number) => status < 500) =>
  fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => ok(r.status),
    () => false,
  );

/** Polls `ready` while checking that none of `processes` has died meanwhile (its output is then the error). */
export function waitAlive(
  what: string,
  processes: RoleProcess[],
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<true> {
  return waitFor(
    what,
    async () => {
      assertAlive(processes);
      return ready();
    },
    timeoutMs,
    250,
  ).catch((error: Error) => {
    assertAlive(processes); // a death is the better message
    throw error;
  });
}

export async function bridgeConsumers(amqpUrl: string, queue: string): Promise<number> {
  const connection = await amqp.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(queue)).consumerCount;
  } catch {
    return 0; // not declared yet: the bridge has not started
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * Every channel group Stable with exactly `members` members (the workers), none of them one of `gone` (members of
 * killed workers: the broker lists them, Stable, until their sessions end, which would pass for ready).
 */
export async function groupsStable(
  admin: Admin,
  groups: WatchedGroup[],
  members: number,
  gone: ReadonlySet<string> = new Set(),
): Promise<boolean> {
  const described = (await admin.describeGroups(groups.map((g) => g.groupId))).groups;
  return groups.every((g) => {
    const d = described.find((x) => x.groupId === g.groupId);
    return d?.state === 'Stable' && d.members.length === members && d.members.every((m) => !gone.has(m.memberId));
  });
}

export async function memberIds(admin: Admin, groups: WatchedGroup[]): Promise<Set<string>> {
  const described = (await admin.describeGroups(groups.map((g) => g.groupId))).groups;
  return new Set(described.flatMap((d) => d.members.map((m) => m.memberId)));
}

export async function deleteQueues(amqpUrl: string, queues: string[]): Promise<void> {
  const connection = await amqp.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    for (const queue of queues) await channel.deleteQueue(queue);
  } finally {
    await connection.close().catch(() => undefined);
  }
}
