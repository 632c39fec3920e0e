import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingConfirmed } from '../fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from '../helpers/full-gateway.js';
import { emailsTo } from '../helpers/maildev.js';
import { waitFor } from '../helpers/wait-for.js';

/** The real templates, but the booking email asks for a value a PNR starting with TPL never has. */
function brokenTemplates(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'templates-'));
  cpSync(fileURLToPath(new URL('../../src/templates', import.meta.url)), dir, {
    recursive: true,
    filter: (src) => !src.endsWith('.ts'),
  });
  const file = path.join(dir, 'payment-completed', 'email.en.hbs');
  writeFileSync(
    file,
    'Subject: Payment {{money refundAmount}}\n{{!-- html --}}\n<p>{{pnrNumber}}</p>\n{{!-- text --}}\n{{pnrNumber}}\n',
  );
  return dir;
}

/** Fault 4: records that can never be delivered land in the dead-letter topics with their reason; the rest flows. */
describe('fault: poison records', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway('fault-poison', { templatesDir: brokenTemplates() });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('dead-letters what is not JSON, fails its schema or breaks a template, and delivers what follows', async () => {
    const prefix = gateway.config.KAFKA_TOPIC_PREFIX;
    const producer = gateway.worker.kafka.producer();
    await producer.connect();
    await producer.send({
      topic: `${prefix}booking-confirmed`,
      messages: [
        { key: 'POISON1', value: '{not json' },
        { key: 'POISON2', value: JSON.stringify({ eventType: 'BOOKING_CONFIRMED', userId: 'x' }) },
      ],
    });
    await producer.disconnect();
    const email = uniqueEmail('poison');
    const payment = await gateway.producer.publish({
      eventType: 'PAYMENT_COMPLETED',
      pnrNumber: 'TPL000001',
      userId: 'poison-user',
      userEmail: email,
      amountPaid: 10,
    });
    const after = await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: 'AFTER0001',
        userId: 'poison-user',
        userEmail: email,
        userPhone: uniquePhone(),
      }),
    );

    const reasons = await waitFor('the dead letters', async () => {
      const { rows } = await gateway.pool.query<{
        channel: string;
        error_code: string;
        original_key: string;
        error_message: string;
      }>('SELECT channel, error_code, original_key, error_message FROM dead_letters ORDER BY id');
      return rows.length >= 9 ? rows : undefined;
    });
    // Each channel reading booking-confirmed meets both poison records; only email renders the broken template.
    const summary = reasons.map((r) => `${r.channel}:${r.error_code}:${r.original_key}`).sort();
    expect(summary).toEqual(
      [
        ...['email', 'sms', 'websocket', 'whatsapp'].flatMap((c) => [
          `${c}:NOT_JSON:POISON1`,
          `${c}:EVENT_INVALID:POISON2`,
        ]),
        'email:TEMPLATE_ERROR:TPL000001',
      ].sort(),
    );
    expect(reasons.find((r) => r.error_code === 'EVENT_INVALID')!.error_message).toMatch(/pnrNumber/);
    expect(reasons.find((r) => r.error_code === 'TEMPLATE_ERROR')!.error_message).toMatch(
      /payment-completed\/email\.en\.hbs.*refundAmount|refundAmount.*payment-completed/,
    );

    await waitFor('the booking after them', async () =>
      (await emailsTo(email)).some((m) => m.subject.includes('AFTER0001')),
    );
    const [alert] = await gateway.deliveries.find({ eventId: payment.eventId, channel: 'websocket' });
    expect(alert!.status).toBe('delivered');
    expect((await gateway.deliveries.find({ eventId: after.eventId })).map((d) => d.status)).not.toContain('sending');
  });
});
