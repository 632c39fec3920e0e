import type { Server as HttpServer } from 'node:http';
import type { FieldCipher } from '../util/field-cipher.js';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { Server, type Socket } from 'socket.io';
import {
  ALERT_EVENT,
  type INBOX_EVENT,
  toAlert,
  userRoom,
  type Alert,
  type InboxState,
} from '../channels/alert-contract.js';
import type { Logger } from '../logger.js';
import { pubSubClient } from '../net/redis.js';
import { createInboxRepository, type InboxRepository } from '../store/inbox.repository.js';
import type { HandshakeLimit } from './handshake-limit.js';
import { AuthError, verifyUserSession } from './jwt.js';

/** Events the server sends; clients send none that the server listens to (see `onConnection`). */
export interface ServerToClientEvents {
  [ALERT_EVENT]: (alert: Alert) => void;
  [INBOX_EVENT]: (state: InboxState) => void;
}
type ClientToServerEvents = Record<string, never>;
type InterServerEvents = Record<string, never>;
/** Set by the handshake middleware from the verified token; nothing in it comes from the client unverified. */
export interface SocketData {
  userId: string;
}

export type RealtimeServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type AlertSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface RealtimeDeps {
  server: HttpServer;
  jwtSecret: string;
  /** Duplicated twice for the adapter's publisher and subscriber; the given client itself is left alone. */
  redis: Redis;
  pool: pg.Pool;
  /** Opens the alerts a reconnecting browser is sent again. */
  cipher: FieldCipher;
  logger: Logger;
  /** Sockets one user may hold on this process at once (each one costs memory and a replay query); default 10. */
  socketsPerUser?: number;
  /** Whether the user asked to be erased: such a user is refused at the handshake. Default: nobody is. */
  isErased?: (userId: string) => Promise<boolean>;
  /** Counts each handshake before its token is checked; one past the limit is refused with RATE_LIMITED. */
  handshakeLimit?: HandshakeLimit;
}

/** Why a handshake was refused, in `connect_error`'s `err.data.code`. */
export type HandshakeErrorCode =
  'TOKEN_MISSING' | AuthError['code'] | 'USER_ERASED' | 'TOO_MANY_SOCKETS' | 'RATE_LIMITED' | 'UNAVAILABLE';

export const DEFAULT_SOCKETS_PER_USER = 10;
/** setTimeout's longest delay (about 24.8 days); a token that lives longer is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A browser that was away longer than this gets the oldest 500 missed alerts now and the rest on its next reconnect. */
export const REPLAY_LIMIT = 500;

/**
 * Attaches Socket.IO to the api's HTTP server. The Redis adapter lets an emit from any process (the websocket
 * channel's emitter, another api node) reach a socket on this one. Sockets authenticate with a user JWT and are put
 * in `user:<sub>` only. The caller closes the returned server (which also closes the HTTP server); the adapter's
 * Redis connections end when the HTTP server closes.
 */
export function attachRealtime(deps: RealtimeDeps): RealtimeServer {
  const logger = deps.logger.child({ component: 'realtime' });
  const failed = (error: unknown, command: string) =>
    logger.warn({ err: error, command }, 'socket.io adapter: redis command failed');
  const pub = pubSubClient(deps.redis, failed);
  const sub = pubSubClient(deps.redis, failed);
  for (const client of [pub, sub])
    client.on('error', (error) => logger.warn({ err: error }, 'socket.io adapter: redis error'));

  // connectionStateRecovery stays off: the inbox (lastSeenId) is the recovery mechanism, and a recovered session
  // would skip the handshake middleware, i.e. the token check.
  const io: RealtimeServer = new Server(deps.server, { adapter: createAdapter(pub, sub) });
  deps.server.once('close', () => {
    pub.disconnect();
    sub.disconnect();
  });

  const sockets = createSocketCount(deps.socketsPerUser ?? DEFAULT_SOCKETS_PER_USER);
  io.use((socket, next) => {
    void limited(deps, socket).then((retryAfterS) => {
      if (retryAfterS === undefined) return next();
      const error = new Error(refusals.RATE_LIMITED);
      next(Object.assign(error, { data: { code: 'RATE_LIMITED', retryAfterS } }));
    });
  });
  io.use((socket, next) => {
    void admit(deps, socket.handshake.auth).then((result) => {
      // Counted here, synchronously after the checks, so a burst of handshakes cannot all see room for one more.
      if (!('code' in result) && !sockets.take(result.userId, socket)) result = { code: 'TOO_MANY_SOCKETS' };
      if ('code' in result)
        return next(Object.assign(new Error(refusals[result.code]), { data: { code: result.code } }));
      socket.data.userId = result.userId;
      next();
      closeAtExpiry(socket, result.expiresAt);
    });
  });
  const inbox = createInboxRepository(deps.pool, deps.cipher);
  io.on('connection', (socket) => void onConnection(socket, inbox, logger));
  return io;
}

/** connect_error's `message`; `data.code` says which case it is. */
const refusals: Record<HandshakeErrorCode, string> = {
  TOKEN_MISSING: 'unauthorized',
  TOKEN_INVALID: 'unauthorized',
  TOKEN_EXPIRED: 'unauthorized',
  USER_ERASED: 'forbidden',
  TOO_MANY_SOCKETS: 'too many connections for this user',
  RATE_LIMITED: 'too many connection attempts from this address',
  UNAVAILABLE: 'unavailable',
};

/** Seconds the client must wait when its address is past the handshake limit; undefined when it may go on. */
async function limited(deps: RealtimeDeps, socket: AlertSocket): Promise<number | undefined> {
  const verdict = await deps.handshakeLimit?.(socket.request);
  return verdict && !verdict.allowed ? verdict.retryAfterS : undefined;
}

/** The user of a valid token who may connect, or the reason code the client gets in `connect_error`. */
async function admit(
  deps: RealtimeDeps,
  auth: Record<string, unknown> | undefined,
): Promise<{ userId: string; expiresAt: Date } | { code: HandshakeErrorCode }> {
  const token = auth?.token;
  if (typeof token !== 'string' || token.length === 0) return { code: 'TOKEN_MISSING' };
  let verified;
  try {
    verified = await verifyUserSession(deps.jwtSecret, token);
  } catch (error) {
    return { code: error instanceof AuthError ? error.code : 'TOKEN_INVALID' };
  }
  try {
    // Fails closed: an erased person's old token must not open a socket because the store was briefly away.
    if (await deps.isErased?.(verified.userId)) return { code: 'USER_ERASED' };
  } catch {
    return { code: 'UNAVAILABLE' };
  }
  return verified;
}

/**
 * Sockets per user on this process, admitted ones included until they connect. A socket whose transport closed
 * during its handshake never emits 'disconnect', so it stops counting once its connection is no longer open.
 */
function createSocketCount(limit: number) {
  const byUser = new Map<string, Set<AlertSocket>>();
  return {
    take(userId: string, socket: AlertSocket): boolean {
      const held = byUser.get(userId) ?? new Set<AlertSocket>();
      for (const other of held) if (other.conn.readyState !== 'open') held.delete(other);
      if (held.size >= limit) return false;
      held.add(socket);
      byUser.set(userId, held);
      socket.once('disconnect', () => {
        held.delete(socket);
        if (held.size === 0 && byUser.get(userId) === held) byUser.delete(userId);
      });
      return true;
    },
  };
}

/** A socket lives no longer than the token it was opened with; the client reconnects with a fresh one. */
function closeAtExpiry(socket: AlertSocket, expiresAt: Date): void {
  const wait = expiresAt.getTime() - Date.now();
  const timer = setTimeout(
    () => (wait > MAX_TIMER_MS ? closeAtExpiry(socket, expiresAt) : socket.disconnect(true)),
    Math.max(0, Math.min(wait, MAX_TIMER_MS)),
  );
  timer.unref();
  socket.once('disconnect', () => clearTimeout(timer));
}

async function onConnection(socket: AlertSocket, inbox: InboxRepository, logger: Logger): Promise<void> {
  const { userId } = socket.data;
  // The room comes from the verified token and nothing else. There is deliberately no 'join' (or any other) handler:
  // a room named by the client would let anyone read anyone's alerts, and Socket.IO never joins a room on its own
  // because a client asked, so an emitted 'join' simply goes nowhere.
  // Joined before the replay query: an alert committed before the query is replayed, one published after the join
  // arrives live; one in between arrives both ways and the browser drops the copy by id.
  await socket.join(userRoom(userId));

  const lastSeenId = parseLastSeenId(socket.handshake.auth?.lastSeenId);
  if (lastSeenId === undefined) return;
  try {
    const rows = await inbox.after(userId, lastSeenId, REPLAY_LIMIT);
    if (rows.length === REPLAY_LIMIT)
      logger.info({ userId, lastSeenId }, 'replay truncated; the rest follows on reconnect');
    for (const row of rows) socket.emit(ALERT_EVENT, toAlert(row));
  } catch (error) {
    // Serving live alerts now would move the browser's lastSeenId past the ones it missed; closing the connection
    // makes it reconnect (with backoff) and ask again.
    logger.warn({ err: error, userId }, 'inbox replay failed; closing the connection so the client retries');
    socket.disconnect(true);
  }
}

/** A non-negative safe integer, given as a number or a string of digits; anything else means "no replay". */
function parseLastSeenId(value: unknown): number | undefined {
  const id = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : undefined;
}
