import type { SandboxMessage } from './message.js';

/** The sandbox's memory of sent messages: bounded, so a long bench run keeps memory flat. */
export interface MessageStore {
  add(message: SandboxMessage): void;
  get(sid: string): SandboxMessage | undefined;
  /** Applies `patch` to a kept message and stamps `dateUpdated`; a message already evicted is ignored. */
  update(sid: string, patch: Partial<Omit<SandboxMessage, 'sid'>>): SandboxMessage | undefined;
  /** Kept messages, newest first, optionally only those `match` accepts. */
  list(match?: (message: SandboxMessage) => boolean): SandboxMessage[];
  clear(): void;
  readonly size: number;
}

export const DEFAULT_STORE_CAPACITY = 5_000;

export function createMessageStore({ capacity = DEFAULT_STORE_CAPACITY } = {}): MessageStore {
  if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError('capacity must be a positive integer');
  // A Map keeps insertion order, which is creation order: the first key is always the oldest, the one to evict.
  const messages = new Map<string, SandboxMessage>();
  return {
    add(message) {
      messages.set(message.sid, message);
      while (messages.size > capacity) {
        const oldest = messages.keys().next().value;
        if (oldest === undefined) break;
        messages.delete(oldest);
      }
    },
    get: (sid) => messages.get(sid),
    update(sid, patch) {
      const message = messages.get(sid);
      if (!message) return undefined;
      Object.assign(message, patch, { dateUpdated: new Date() });
      return message;
    },
    list(match = () => true) {
      const newestFirst: SandboxMessage[] = [];
      for (const message of messages.values()) if (match(message)) newestFirst.push(message);
      return newestFirst.reverse();
    },
    clear: () => messages.clear(),
    get size() {
      return messages.size;
    },
  };
}
