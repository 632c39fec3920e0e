import { randomBytes, randomUUID } from 'node:crypto';
import { bookingConfirmed } from '../fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './full-gateway.js';

/**
 * The dead-letter admin tests are two files (the API surface, and replays) that seed and read dead letters the same
 * way. What both need is kept here once, so the two cannot drift apart; each file starts a gateway of its own with it.
 */

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

export interface LetterRow {
  channel?: string;
  event_type?: string | null;
  error_code?: string | null;
  status?: string;
  payload?: unknown;
  user_id?: string | null;
  idempotency_key?: string | null;
  original_key?: string | null;
  event_id?: string | null;
}

/** A gateway for dead-letter tests, with the admin calls and the seeding that go with it; `start` in beforeAll. */
export function deadLetterFixtures(label: string) {
  let gateway: Gateway | undefined;
  const started = (): Gateway => {
    if (!gateway) throw new Error('deadLetterFixtures: start() was not called (or failed)');
    return gateway;
  };

  const prefix = () => started().config.KAFKA_TOPIC_PREFIX;
  const code = (name: string) => `${name}_${randomBytes(3).toString('hex').toUpperCase()}`;

  async function call(
    method: string,
    path: string,
    { token = started().config.ADMIN_TOKEN, body }: { token?: string | null; body?: unknown } = {},
  ): Promise<Answer> {
    const response = await fetch(`${started().apiUrl}${path}`, {
      method,
      headers: {
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...(token && { authorization: `Bearer ${token}` }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  }

  /** A dead letter written straight into the index, as the channel consumers write them. */
  async function insertLetter(row: LetterRow = {}): Promise<number> {
    const eventId = row.event_id === undefined ? randomUUID() : row.event_id;
    // Replays are delivered by the worker's retry groups: each entry names a traveller and addresses of its own.
    const traveller = {
      userId: row.user_id ?? `dlq-${randomBytes(3).toString('hex')}`,
      userEmail: uniqueEmail('dlq'),
      userPhone: uniquePhone(),
    };
    const payload = row.payload === undefined ? bookingConfirmed({ eventId, ...traveller }) : row.payload;
    const { rows } = await started().pool.query<{ id: string }>(
      `INSERT INTO dead_letters (channel, event_id, event_type, user_id, idempotency_key, original_topic, original_partition,
         original_offset, original_key, consumer_group, attempts, error_class, error_code, error_message, payload, status)
       VALUES ($1, $2, $3, $4, $5, $6, 0, '7', $7, 'email-notification-group', 1, 'permanent', $8, 'test failure', $9, $10)
       RETURNING id`,
      [
        row.channel ?? 'email',
        eventId,
        row.event_type === undefined ? 'BOOKING_CONFIRMED' : row.event_type,
        row.user_id ?? null,
        row.idempotency_key ?? null,
        `${prefix()}booking-confirmed`,
        row.original_key ?? 'PNR1234567',
        row.error_code ?? 'SMTP_550',
        payload === null ? null : JSON.stringify(payload),
        row.status ?? 'pending',
      ],
    );
    return Number(rows[0]!.id);
  }

  const letter = async (id: number) =>
    (await started().pool.query(`SELECT * FROM dead_letters WHERE id = $1`, [id])).rows[0];
  const auditOf = async (id: number) =>
    (
      await started().pool.query(
        `SELECT action, actor, filter, result FROM dead_letter_audit WHERE dead_letter_id = $1 ORDER BY id`,
        [id],
      )
    ).rows;
  const ids = (answer: Answer) => (answer.body.items as Array<{ id: number }>).map((item) => item.id);

  return {
    async start(): Promise<Gateway> {
      gateway = await startGateway(label);
      return gateway;
    },
    async close(): Promise<void> {
      await gateway?.close();
    },
    prefix,
    code,
    call,
    insertLetter,
    letter,
    auditOf,
    ids,
  };
}
