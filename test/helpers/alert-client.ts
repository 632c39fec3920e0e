import { io as connectSocket, type Socket } from 'socket.io-client';
import { signUserToken } from '../../src/http/jwt.js';
import { waitFor } from './wait-for.js';

export interface ReceivedAlert extends Record<string, unknown> {
  id: number;
  eventId: string;
}

/** A browser's view of its alerts: every one received, and how often the socket had to reconnect. */
export interface AlertClient {
  socket: Socket;
  /** Every 'alert' as it arrived, copies included. */
  received: ReceivedAlert[];
  /** As the alerts page shows them: one per inbox id (a replay after a reconnect may repeat one). */
  distinct(): ReceivedAlert[];
  reconnects: number;
}

/**
 * Logs in as the user and keeps reconnecting as the alerts page does, asking on each reconnect for what it missed
 * (lastSeenId: the highest inbox id seen so far).
 */
export async function connectAlertClient(apiUrl: string, jwtSecret: string, userId: string): Promise<AlertClient> {
  const token = await signUserToken(jwtSecret, userId);
  const received: ReceivedAlert[] = [];
  let lastSeenId: number | undefined;
  const socket = connectSocket(apiUrl, {
    auth: (cb) => cb(lastSeenId === undefined ? { token } : { token, lastSeenId }),
    transports: ['websocket'],
    reconnection: true,
    reconnectionDelay: 200,
    reconnectionDelayMax: 2_000,
    forceNew: true,
  });
  const client: AlertClient = {
    socket,
    received,
    reconnects: 0,
    distinct: () => [...new Map(received.map((alert) => [alert.id, alert])).values()],
  };
  socket.on('alert', (alert: ReceivedAlert) => {
    received.push(alert);
    if (lastSeenId === undefined || alert.id > lastSeenId) lastSeenId = alert.id;
  });
  socket.io.on('reconnect', () => (client.reconnects += 1));
  await waitFor(`socket for ${userId} to connect`, () => socket.connected);
  return client;
}
