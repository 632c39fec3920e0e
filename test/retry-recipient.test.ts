import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flightDelay } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { unchangedFor, waitFor } from './helpers/wait-for.js';

/**
 * A retried delivery decides as its first attempt did: it finds the same person with the same journey, and a retry
 * that decides not to send settles the row instead of leaving it 'sending'.
 */
describe('a retry sees the recipient its first attempt saw', () => {
  let gateway: Gateway;
  const run = randomBytes(2).toString('hex').toUpperCase();
  const flight = `Q${run}`;

  const smsRow = async (eventId: string, userId: string) => {
    const { rows } = await gateway.pool.query<{ status: string; error_code: string | null }>(
      `SELECT status, error_code FROM deliveries WHERE event_id = $1 AND user_id = $2 AND channel = 'sms'`,
      [eventId, userId],
    );
    return rows[0];
  };
  const textsTo = (phone: string) => gateway.sandbox.store.list((m) => m.to === phone);

  /** Someone on the flight whose SMS fails three times (every quick try) and so waits on the retry topic. */
  async function traveller(label: string, thresholds: { own: number; journey: number }) {
    const who = { userId: `retry-${label}-${run.toLowerCase()}`, email: uniqueEmail(label), phone: uniquePhone() };
    await gateway.preferences.update(who.userId, {
      email: who.email,
      phone: who.phone,
      channels: { whatsapp: false },
      minDelayMinutes: thresholds.own,
    });
    await gateway.itineraries.add({
      userId: who.userId,
      vehicleKind: 'flight',
      vehicleNumber: flight,
      minDelayMinutes: thresholds.journey,
    });
    return who;
  }

  async function delayWithFailedFirstSms(who: { userId: string; phone: string }, minutes: number) {
    gateway.sandbox.faults.set({ failNext: { count: 3, code: 20500, status: 500, to: who.phone } });
    const eventId = randomUUID();
    await gateway.producer.publish(
      flightDelay({ eventId, flightNumber: flight, payload: { minutes, reason: 'crew' } }),
    );
    await waitFor('the first SMS attempt failed and released', async () => {
      const row = await smsRow(eventId, who.userId);
      return row?.status === 'sending' && row.error_code !== null;
    });
    return eventId;
  }

  beforeAll(async () => {
    gateway = await startGateway('retry-recipient', { env: { RETRY_DELAYS_MS: '3000,3000' } });
  });
  afterAll(() => gateway?.close());

  it("applies the journey's threshold (15) on the retry, not the person's own (60): the 30-minute delay arrives once", async () => {
    const who = await traveller('journey', { own: 60, journey: 15 });
    const eventId = await delayWithFailedFirstSms(who, 30);

    await waitFor('the SMS, on the retry', () => textsTo(who.phone).length === 1, { timeoutMs: 30_000 });
    expect(textsTo(who.phone)[0]!.body).toContain('is delayed by 30 minutes');
    await waitFor('the ledger row sent', async () =>
      ['sent', 'delivered'].includes((await smsRow(eventId, who.userId))?.status ?? ''),
    );
    await unchangedFor('no second copy', () => textsTo(who.phone).length, 1_500);
  });

  it('settles a retry that no longer sends (SMS turned off meanwhile) as skipped, not sending for ever', async () => {
    const who = await traveller('off', { own: 60, journey: 15 });
    const eventId = await delayWithFailedFirstSms(who, 30);
    await gateway.preferences.update(who.userId, { channels: { whatsapp: false, sms: false } });

    const row = await waitFor(
      'the retried row settled',
      async () => {
        const found = await smsRow(eventId, who.userId);
        return found?.status !== 'sending' && found;
      },
      { timeoutMs: 30_000 },
    );
    expect(row).toEqual({ status: 'skipped', error_code: 'PREFERENCE_OFF' });
    expect(textsTo(who.phone)).toEqual([]);
  });
});
