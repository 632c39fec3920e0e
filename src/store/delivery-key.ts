import type { Channel, EventType } from '../events/index.js';

/** One delivery: one event, on one channel, to one person. */
export interface DeliveryKey {
  eventId: string;
  eventType: EventType;
  channel: Channel;
  userId: string;
}

/** `<eventId>:<channel>:<userId>`: one delivery per key, ever. */
export const idempotencyKeyOf = (key: DeliveryKey) => `${key.eventId}:${key.channel}:${key.userId}`;
