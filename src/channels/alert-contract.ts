import type { InboxRow } from '../store/inbox.repository.js';

/**
 * The live-alert contract, in one place: the event name, the room and the payload shape that the websocket channel
 * emits, the sockets replay from the inbox, the previews show and erasure closes. The browser pages read this shape.
 */

/** The Socket.IO event every alert travels as, live or replayed from the inbox. */
export const ALERT_EVENT = 'alert';

/**
 * The inbox state, pushed to all of a person's sockets when it changes elsewhere (another tab, another device):
 * `{ unread, read: [ids] }` or `{ unread, read: 'all' }`.
 */
export const INBOX_EVENT = 'inbox';

export interface InboxState {
  unread: number;
  read: number[] | 'all';
}

/** The only room a socket is ever in (besides its own id): one per user, named from the token's `sub`. */
export const userRoom = (userId: string): string => `user:${userId}`;

/** What a browser receives: the rendered payload (title, body, severity …) plus where it sits in the inbox. */
export type Alert = Record<string, unknown> & { id: number; eventId: string; eventType: string; createdAt: string };

/** The one shape of an alert, live or replayed; the inbox fields win over any same-named payload field. */
export function toAlert(row: InboxRow): Alert {
  return {
    ...row.payload,
    id: Number(row.id),
    eventId: row.event_id,
    eventType: row.event_type,
    createdAt: row.created_at.toISOString(),
  };
}
