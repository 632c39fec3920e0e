/**
 * The live-alert path without the gateway: a Socket.IO server with the Redis adapter (as src/http/realtime.ts has
 * it), 1,000 socket.io-client clients each in their own `user:<n>` room, and a Redis emitter publishing as the
 * worker's websocket channel does. Its Redis key is the run's own, so no other Socket.IO server on this Redis (a
 * gateway under test) ever sees these alerts, nor we theirs.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import { Emitter } from '@socket.io/redis-emitter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { uniqueSuffix, withTimeout } from './shared.js';

/** Connections opened at once: a thousand at a go would mostly measure the accept queue. */
const CONNECT_CHUNK = 100;

export interface AlertRig {
  clientCount: number;
  /** The first error any of the Redis connections had, if one had. */
  redisError(): Error | undefined;
  /** Publishes one alert to `user:<room>` through Redis. */
  emit(room: number, payload: Record<string, unknown>): void;
  /** Called for every alert any client receives. */
  onAlert(listener: (payload: { t: number; step: number }) => void): void;
  close(): Promise<void>;
}

/** Resolves once the client's namespace connect is acknowledged, which is after the server's join. */
function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
}

export async function startAlertRig(clientCount: number, redisUrl: string): Promise<AlertRig> {
  const key = `bench.raw.${uniqueSuffix()}`;
  const pub = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  const sub = pub.duplicate();
  const emitterRedis = pub.duplicate();
  let redisError: Error | undefined;
  for (const redis of [pub, sub, emitterRedis]) redis.on('error', (error: Error) => (redisError ??= error));
  const http = createServer();
  let io: Server | undefined;
  const clients: Socket[] = [];
  // The emitter drops publish()'s promise; a failed publish (Redis gone) must not become an unhandled rejection.
  const emitter = new Emitter(
    {
      publish: (channel: string, message: string | Buffer) =>
        emitterRedis.publish(channel, message).catch((error: Error) => (redisError ??= error)),
    },
    { key },
  );

  const close = async () => {
    for (const client of clients) client.disconnect();
    // io.close() closes the http server too; without an io (Redis never came) only the idle server is left.
    if (io) await new Promise<void>((resolve) => io!.close(() => resolve()));
    else if (http.listening) await new Promise((resolve) => http.close(resolve));
    // io.close leaves the adapter's Redis connections to us; disconnect() also ends any reconnect attempts.
    for (const redis of [pub, sub, emitterRedis]) redis.disconnect();
  };

  try {
    // Redis first, so that a Redis that is not there says so at once rather than as alerts that never arrive.
    const connecting = Promise.all([pub, sub, emitterRedis].map((redis) => redis.connect()));
    await withTimeout(connecting, 5_000, `redis at ${redisUrl}`).catch((error: Error) => {
      throw new Error(`redis at ${redisUrl}: ${redisError?.message ?? error.message}`);
    });
    io = new Server(http, { adapter: createAdapter(pub, sub, { key }), serveClient: false });
    io.on('connection', (socket) => void socket.join(`user:${Number(socket.handshake.auth.n)}`));
    await new Promise<void>((resolve, reject) => http.once('error', reject).listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    for (let from = 0; from < clientCount; from += CONNECT_CHUNK) {
      const chunk = Array.from({ length: Math.min(CONNECT_CHUNK, clientCount - from) }, (_, i) => {
        // Light clients: no reconnection, no multiplexing. Kept at once, so close() ends even half-open ones.
        const socket = connect(url, {
          transports: ['websocket'],
          forceNew: true,
          reconnection: false,
          auth: { n: from + i },
        });
        clients.push(socket);
        return connected(socket);
      });
      await withTimeout(Promise.all(chunk), 15_000, 'socket.io clients connecting');
    }
  } catch (error) {
    await close();
    throw error;
  }

  return {
    clientCount,
    redisError: () => redisError,
    emit: (room, payload) => emitter.to(`user:${room}`).emit('alert', payload),
    onAlert: (listener) => {
      for (const client of clients) client.on('alert', listener);
    },
    close,
  };
}
