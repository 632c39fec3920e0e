/**
 * When the provider received each message, as the provider itself recorded it: the sandbox's `GET /sandbox/messages`
 * (its own controls, the preview page's source) gives every kept message with its sender and `dateCreated` to the
 * millisecond. Twilio's list API would give the same messages, but its dates are RFC 2822, whole seconds: too coarse
 * to tell one second's sends from the next.
 */

/** The fields of the sandbox's answer this reads; the sandbox is an outside party, so its shape is restated here. */
interface SandboxThreads {
  threads: Array<{ messages: Array<{ from: string | null; dateCreated: string }> }>;
}

/** The sandbox keeps its newest 5,000 messages and answers with at most that many. */
const SANDBOX_KEEPS = 5_000;

/** Receive times (ms since the epoch, ascending) of the messages each of `senders` sent. */
export async function receiveTimesBySender(sandboxUrl: string, senders: string[]): Promise<Map<string, number[]>> {
  const response = await fetch(`${sandboxUrl}/sandbox/messages?limit=${SANDBOX_KEEPS}`, {
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`GET /sandbox/messages answered ${response.status}`);
  const { threads } = (await response.json()) as SandboxThreads;
  const times = new Map(senders.map((s) => [s, [] as number[]]));
  for (const thread of threads)
    for (const message of thread.messages)
      if (message.from !== null) times.get(message.from)?.push(Date.parse(message.dateCreated));
  for (const list of times.values()) list.sort((a, b) => a - b);
  return times;
}

/**
 * The most messages in any one second: every window [t, t + 1 s) starting at a message, as the provider would count
 * them (the same measure as test/send-rates.test.ts). `times` ascending.
 */
export function busiestSecond(times: number[]): number {
  let most = 0;
  for (let start = 0, end = 0; start < times.length; start += 1) {
    while (end < times.length && times[end]! < times[start]! + 1_000) end += 1;
    most = Math.max(most, end - start);
  }
  return most;
}
