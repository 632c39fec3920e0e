import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BreakerState } from '../src/channels/breaker.js';
import { retryTopic } from '../src/kafka/names.js';
import { bookingConfirmed } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { startTestSmtpServer, type TestSmtpServer } from './helpers/smtp-test-server.js';
import { waitFor } from './helpers/wait-for.js';

const TRAVELLERS = 6;

/**
 * Twilio answering 20003 and the SMTP relay answering 535 are refusals of our account, not of any message: the
 * channel waits (breaker open, records kept where they are) and every message goes out once the account is fixed,
 * instead of each one being dead-lettered.
 */
describe('account-level provider failures', () => {
  let gateway: Gateway;
  let smtp: TestSmtpServer;
  const opened: Record<string, number> = {};

  beforeAll(async () => {
    smtp = await startTestSmtpServer();
    gateway = await startGateway('account-fail', {
      env: { BREAKER_RESET_MS: '500', RETRY_DELAYS_MS: '500,1000,2000', SMTP_URL: smtp.url, SMTP_LOOKUP_URL: 'none' },
    });
    gateway.worker.breakers.onStateChange((provider: string, state: BreakerState) => {
      if (state === 'open') opened[provider] = (opened[provider] ?? 0) + 1;
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await smtp?.close();
  });

  const deadLetters = async (channels: string[]) =>
    (await gateway.pool.query(`SELECT channel, error_code FROM dead_letters WHERE channel = ANY($1)`, [channels])).rows;

  /** Records on a channel's retry topics: a refusal of the account must not move records up towards the DLQ. */
  async function retried(channel: 'sms' | 'email'): Promise<number> {
    const admin = gateway.worker.kafka.admin();
    await admin.connect();
    try {
      let total = 0;
      for (const level of [1, 2, 3]) {
        const offsets = await admin
          .fetchTopicOffsets(retryTopic(channel, level, gateway.config.KAFKA_TOPIC_PREFIX))
          .catch(() => []);
        total += offsets.reduce((sum, o) => sum + Number(o.high), 0);
      }
      return total;
    } finally {
      await admin.disconnect();
    }
  }

  it('opens the breakers on 20003 and 535, dead-letters nothing, and delivers every message once when fixed', async () => {
    gateway.sandbox.faults.set({ failNext: { count: 100_000, code: 20003, status: 401 } });
    smtp.refuseLogins = true;

    const travellers = Array.from({ length: TRAVELLERS }, (_, i) => ({
      userId: `acct-${i}-${randomBytes(3).toString('hex')}`,
      phone: uniquePhone(),
      email: uniqueEmail('acct'),
    }));
    for (const [i, t] of travellers.entries()) {
      await gateway.producer.publish(
        bookingConfirmed({
          eventId: undefined,
          pnrNumber: `ACCT${i}${randomBytes(2).toString('hex')}`,
          userId: t.userId,
          userPhone: t.phone,
          userEmail: t.email,
        }),
      );
    }

    await waitFor('every SMS and email to have been tried', async () => {
      const { rows } = await gateway.pool.query(
        `SELECT count(*)::int AS n FROM deliveries WHERE channel IN ('sms', 'email') AND attempts > 0`,
      );
      return rows[0].n === 2 * TRAVELLERS;
    });
    expect(await deadLetters(['sms', 'whatsapp', 'email'])).toEqual([]);
    // Longer than the whole retry ladder (0.5 + 1 + 2 s): each reopening is a trial send that was refused again.
    await waitFor('both breakers to have opened 8 times', () => (opened.twilio ?? 0) >= 8 && (opened.smtp ?? 0) >= 8, {
      timeoutMs: 60_000,
    });
    expect(await deadLetters(['sms', 'whatsapp', 'email'])).toEqual([]);
    expect(await retried('sms')).toBe(0);
    expect(await retried('email')).toBe(0);
    // Each refusal opens the breaker at once: between trials nothing asks again (a hot loop did thousands).
    const refusedSends = 100_000 - (gateway.sandbox.faults.snapshot().failNext[0]?.remaining ?? 100_000);
    expect(refusedSends).toBeGreaterThan(0);
    expect(refusedSends).toBeLessThan(50);
    expect(smtp.refusedLogins).toBeGreaterThan(0);
    expect(smtp.refusedLogins).toBeLessThan(50);
    // The ledger says why (later attempts, refused by the open breaker itself, say CIRCUIT_OPEN).
    const { rows: refused } = await gateway.pool.query(
      `SELECT DISTINCT d.channel, a.error_code FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.channel IN ('sms', 'email')`,
    );
    expect(refused).toEqual(
      expect.arrayContaining([
        { channel: 'email', error_code: 'SMTP_AUTH' },
        { channel: 'sms', error_code: 'TWILIO_AUTH' },
      ]),
    );

    // The credentials are fixed.
    gateway.sandbox.faults.clear();
    smtp.refuseLogins = false;

    for (const t of travellers) {
      await waitFor(`the SMS to ${t.phone}`, () => gateway.sandbox.store.list((m) => m.to === t.phone).length >= 1, {
        timeoutMs: 30_000,
      });
      await waitFor(`the email to ${t.email}`, () => smtp.received.some((m) => m.to.includes(t.email)), {
        timeoutMs: 30_000,
      });
    }
    await waitFor(
      'the breakers to close',
      () => gateway.worker.breakers.state('twilio') === 'closed' && gateway.worker.breakers.state('smtp') === 'closed',
    );
    for (const t of travellers) {
      expect(
        gateway.sandbox.store.list((m) => m.to === t.phone),
        `SMS to ${t.phone}`,
      ).toHaveLength(1);
      expect(
        smtp.received.filter((m) => m.to.includes(t.email)),
        `email to ${t.email}`,
      ).toHaveLength(1);
    }
    expect(await deadLetters(['sms', 'whatsapp', 'email'])).toEqual([]);
  });
});
