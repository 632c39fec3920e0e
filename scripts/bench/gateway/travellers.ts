/**
 * The bench's travellers: rows in `users` with contact details (as the projection or the preferences API would leave
 * them), itineraries on the trains the bench disrupts, and one Socket.IO client each, logged in as a browser would.
 */
import { randomInt } from 'node:crypto';
import type pg from 'pg';
import { io as connectSocket, type Socket } from 'socket.io-client';
import { signUserToken } from '../../../src/http/jwt.js';
import { sealContact } from '../../../src/store/sealed-contacts.js';
import type { FieldCipher } from '../../../src/util/field-cipher.js';
import { sleep } from './timing.js';

export interface Traveller {
  index: number;
  userId: string;
  email: string;
  /** A valid Indian mobile (+91 98…), unique in the run: the sandbox refuses numbers libphonenumber calls invalid. */
  phone: string;
  name: string;
}

export function makeTravellers(runId: string, count: number): Traveller[] {
  const base = randomInt(0, 90_000_000);
  return Array.from({ length: count }, (_, index) => ({
    index,
    userId: `bench-${runId.toLowerCase()}-${index}`,
    email: `traveller${index}.${runId.toLowerCase()}@bench.example.com`,
    phone: `+9198${String(base + index).padStart(8, '0')}`,
    name: `Traveller ${index}`,
  }));
}

/** One statement per 2,000 rows (unnest of arrays): 5,000 travellers take well under a second. */
export async function seedUsers(pool: pg.Pool, cipher: FieldCipher, travellers: Traveller[]): Promise<void> {
  for (let i = 0; i < travellers.length; i += 2000) {
    const page = travellers.slice(i, i + 2000).map((t) => ({ userId: t.userId, ...sealContact(cipher, t) }));
    await pool.query(
      `INSERT INTO users (user_id, name, email, phone, phone_hash)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
       ON CONFLICT (user_id) DO NOTHING`,
      [
        page.map((t) => t.userId),
        page.map((t) => t.name),
        page.map((t) => t.email),
        page.map((t) => t.phone),
        page.map((t) => t.phoneHash),
      ],
    );
  }
}

/** Active itineraries on a train, with no journey date: every disruption of that train concerns them. */
export async function addItineraries(pool: pg.Pool, travellers: Traveller[], trainNumber: string): Promise<void> {
  for (let i = 0; i < travellers.length; i += 2000) {
    const page = travellers.slice(i, i + 2000);
    await pool.query(
      `INSERT INTO itineraries (user_id, pnr_number, vehicle_kind, vehicle_number)
       SELECT u, p, 'train', $3 FROM unnest($1::text[], $2::text[]) AS t(u, p)`,
      [page.map((t) => t.userId), page.map((t) => `I${trainNumber}${t.index}`), trainNumber],
    );
  }
}

export type AlertListener = (
  traveller: Traveller,
  alert: { eventId?: unknown; eventType?: unknown },
  receivedAt: number,
) => void;

/**
 * Sockets for many travellers in one process. Each is spread over the api processes round-robin, as a load balancer
 * would; every alert goes to the one listener the current phase installed, stamped with Date.now() on arrival.
 */
export function createSocketFleet(apiUrls: string[], jwtSecret: string) {
  const sockets = new Map<number, Socket>();
  let listener: AlertListener = () => {};
  let disconnects = 0;
  let alerts = 0;

  async function connectOne(traveller: Traveller, timeoutMs: number): Promise<boolean> {
    const token = await signUserToken(jwtSecret, traveller.userId);
    const socket = connectSocket(apiUrls[traveller.index % apiUrls.length]!, {
      auth: { token },
      transports: ['websocket'],
      forceNew: true,
      reconnection: true,
      reconnectionDelay: 500,
      timeout: timeoutMs,
    });
    socket.on('alert', (alert: { eventId?: unknown; eventType?: unknown }) => {
      alerts += 1;
      listener(traveller, alert, Date.now());
    });
    socket.on('disconnect', () => (disconnects += 1));
    sockets.set(traveller.index, socket);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      socket.once('connect', () => (clearTimeout(timer), resolve(true)));
      socket.once('connect_error', () => (clearTimeout(timer), resolve(false)));
    });
  }

  return {
    /** Connects those not connected yet, `batch` at a time; returns how many are connected now and how long it took. */
    async connect(travellers: Traveller[], { batch = 250, timeoutMs = 20_000 } = {}) {
      const started = performance.now();
      const todo = travellers.filter((t) => !sockets.has(t.index));
      let failed = 0;
      for (let i = 0; i < todo.length; i += batch) {
        const results = await Promise.all(todo.slice(i, i + batch).map((t) => connectOne(t, timeoutMs)));
        failed += results.filter((ok) => !ok).length;
        await sleep(10); // lets the api's event loop breathe between handshake bursts
      }
      const connected = travellers.filter((t) => sockets.get(t.index)?.connected).length;
      return { connected, failed, ms: Math.round(performance.now() - started) };
    },
    isConnected: (traveller: Traveller) => sockets.get(traveller.index)?.connected ?? false,
    onAlert(next: AlertListener) {
      listener = next;
    },
    stats: () => ({
      sockets: sockets.size,
      connected: [...sockets.values()].filter((s) => s.connected).length,
      disconnects,
      alerts,
    }),
    close() {
      listener = () => {};
      for (const socket of sockets.values()) socket.disconnect();
      sockets.clear();
    },
  };
}

export type SocketFleet = ReturnType<typeof createSocketFleet>;
