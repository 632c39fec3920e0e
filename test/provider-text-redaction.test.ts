import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingConfirmed } from './fixtures/events.js';
import { startGateway, type Gateway } from './helpers/full-gateway.js';
import { readRecords } from './helpers/kafka.js';
import { exchangeUnknownUser, startTestSmtpServer, type TestSmtpServer } from './helpers/smtp-test-server.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * Twilio quotes the number it refused (21211) and an SMTP relay the address (550): the reason is kept, the person's
 * contact details are not, in the ledger, its attempts, the dead letters and the DLQ records' headers.
 */
describe('provider error text is redacted where it is stored', () => {
  let gateway: Gateway;
  let smtp: TestSmtpServer;
  const email = `asha.${randomBytes(4).toString('hex')}@example.com`;
  // Possible for India (ten digits) but not a number India assigns: the sandbox, like Twilio, answers 21211.
  const phone = '+915555555555';

  beforeAll(async () => {
    // Exchange's wording: the address unbracketed, mid-sentence.
    smtp = await startTestSmtpServer({ rejectRecipients: [email], rejectWith: exchangeUnknownUser });
    gateway = await startGateway('redaction', { env: { SMTP_URL: smtp.url, SMTP_LOOKUP_URL: 'none' } });
  });
  afterAll(async () => {
    await gateway?.close();
    await smtp?.close();
  });

  it('keeps no trace of the number or the address after a 21211 and a 550', async () => {
    const userId = `red-${randomBytes(3).toString('hex')}`;
    const { eventId } = await gateway.producer.publish(
      bookingConfirmed({ eventId: undefined, pnrNumber: 'REDACT001', userId, userPhone: phone, userEmail: email }),
    );

    const letters = await waitFor('the SMS and email dead letters', async () => {
      const { rows } = await gateway.pool.query<{ channel: string; error_code: string; error_message: string }>(
        `SELECT channel, error_code, error_message FROM dead_letters WHERE event_id = $1 AND channel IN ('sms', 'email') ORDER BY channel`,
        [eventId],
      );
      return rows.length === 2 && rows;
    });
    expect(letters.map((l) => [l.channel, l.error_code])).toEqual([
      ['email', 'SMTP_550'],
      ['sms', 'TWILIO_21211'],
    ]);

    const { rows: deliveries } = await gateway.pool.query<{ channel: string; error_message: string }>(
      `SELECT channel, error_message FROM deliveries WHERE event_id = $1 AND channel IN ('sms', 'email')`,
      [eventId],
    );
    const { rows: attempts } = await gateway.pool.query<{ error_message: string }>(
      `SELECT a.error_message FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
        WHERE d.event_id = $1 AND d.channel IN ('sms', 'email') AND a.error_message IS NOT NULL`,
      [eventId],
    );
    const prefix = gateway.config.KAFKA_TOPIC_PREFIX;
    const headers = [];
    for (const channel of ['sms', 'email']) {
      const [record] = await readRecords(gateway.worker.kafka, [`${prefix}notifications.${channel}.dlq`], 1);
      headers.push(record!.message.headers!['x-error-message']!.toString());
    }

    const stored = [
      ...letters.map((l) => l.error_message),
      ...deliveries.map((d) => d.error_message),
      ...attempts.map((a) => a.error_message),
      ...headers,
    ];
    expect(deliveries).toHaveLength(2);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    for (const text of stored) {
      expect(text).not.toContain('5555555555');
      expect(text).not.toContain(email.split('@')[0]);
    }
    // The reason is still there for the operator.
    expect(headers[0]).toMatch(/^Twilio: The 'To' number \[phone\] is not a valid phone number/);
    expect(headers[1]).toMatch(/550 5\.1\.10 RESOLVER\.ADR\.RecipientNotFound; Recipient \[email\] not found/);
  });
});
