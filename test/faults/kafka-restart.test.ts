import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka, stopKafka } from '../../scripts/stack/kafka.js';
import { bookingConfirmed } from '../fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from '../helpers/full-gateway.js';
import { emailsTo } from '../helpers/maildev.js';
import { waitFor } from '../helpers/wait-for.js';

/** Fault 5: the broker restarts while events are being delivered. */
describe('fault: the Kafka broker restarted during a run', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway('fault-kafka');
  });
  afterAll(async () => {
    await startKafka(gateway.config.KAFKA_BROKERS[0]!, () => {});
    await gateway?.close();
  });

  it('loses nothing and sends nothing twice: producers and consumers recover by themselves', async () => {
    const travellers = Array.from({ length: 5 }, (_, i) => ({
      userId: `kr${i}-${randomBytes(3).toString('hex')}`,
      email: uniqueEmail(`kr${i}`),
      phone: uniquePhone(),
    }));
    const event = (i: number) => {
      const t = travellers[i % travellers.length]!;
      return bookingConfirmed({
        eventId: undefined,
        pnrNumber: `KR${String(i).padStart(6, '0')}`,
        userId: t.userId,
        userEmail: t.email,
        userPhone: t.phone,
      });
    };
    const phones = new Set(travellers.map((t) => t.phone));
    const sms = () => gateway.sandbox.store.list((m) => phones.has(m.to));

    await gateway.producer.publishMany(Array.from({ length: 150 }, (_, i) => event(i)));
    await waitFor('deliveries under way', () => sms().length > 0);
    await stopKafka();
    await startKafka(gateway.config.KAFKA_BROKERS[0]!, () => {});
    // The same producer publishes the rest once the broker is back (a caller retries what it could not send).
    for (let i = 150; i < 300; i += 50) {
      const batch = Array.from({ length: 50 }, (_, j) => event(i + j));
      await waitFor('a publish after the restart', () => gateway.producer.publishMany(batch), {
        timeoutMs: 60_000,
        intervalMs: 1_000,
      });
    }

    await waitFor('all 300 SMS', () => sms().length >= 300, { timeoutMs: 120_000, intervalMs: 500 });
    const mail = await waitFor(
      'all 300 emails',
      async () => {
        const caught = await emailsTo(travellers.map((t) => t.email));
        return caught.length >= 300 ? caught : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    const pnrs = (texts: string[]) => texts.map((t) => t.match(/KR\d{6}/)?.[0]);
    expect(new Set(pnrs(sms().map((m) => m.body))).size).toBe(300);
    expect(sms()).toHaveLength(300);
    expect(mail).toHaveLength(300);
    expect(new Set(pnrs(mail.map((m) => m.subject))).size).toBe(300);
  });
});
