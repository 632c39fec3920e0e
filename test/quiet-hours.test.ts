import { randomBytes } from 'node:crypto';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingConfirmed } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { emailsTo } from './helpers/maildev.js';
import { waitFor } from './helpers/wait-for.js';

describe('quiet hours', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway('quiet');
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('holds a booking SMS until the window ends, while an urgent disruption goes at once', async () => {
    const userId = `quiet-${randomBytes(3).toString('hex')}`;
    const phone = uniquePhone();
    const email = uniqueEmail('quiet');
    await gateway.preferences.update(userId, { email, phone });
    await gateway.itineraries.add({ userId, vehicleKind: 'train', vehicleNumber: '12951' });
    // A short window in the person's own zone, open now and ending in 12 seconds.
    const now = DateTime.now().setZone('Asia/Kolkata');
    const end = now.plus({ seconds: 12 });
    await gateway.pool.query(
      `INSERT INTO preferences (user_id, quiet_start, quiet_end, quiet_time_zone) VALUES ($1, $2, $3, 'Asia/Kolkata')
       ON CONFLICT (user_id) DO UPDATE SET quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end, quiet_time_zone = EXCLUDED.quiet_time_zone`,
      [userId, now.minus({ minutes: 1 }).toFormat('HH:mm:ss'), end.toFormat('HH:mm:ss')],
    );
    await gateway.preferences.invalidate(userId);
    const sms = () => gateway.sandbox.store.list((m) => m.to === phone);

    const booking = await gateway.producer.publish(bookingConfirmed({ eventId: undefined, pnrNumber: 'QUIET0001', userId, userEmail: email, userPhone: phone }));
    await waitFor('the email, which quiet hours do not hold', async () => (await emailsTo(email)).length === 1);
    const held = await waitFor('the SMS held', async () => (await gateway.deliveries.find({ eventId: booking.eventId, channel: 'sms' }))[0]);
    expect(held.status).toBe('deferred');

    await gateway.producer.publish({ eventType: 'TRAVEL_DISRUPTION', disruptionType: 'TRAIN_CANCELLED', trainNumber: '12951' });
    await waitFor('the cancellation SMS at once', () => sms().length === 1);
    expect(sms()[0]!.body).not.toContain('QUIET0001');
    expect(Date.now()).toBeLessThan(end.toMillis());

    const released = await waitFor('the booking SMS after the window', () => (sms().length === 2 ? sms() : undefined), { timeoutMs: 40_000 });
    const bookingSms = released.find((m) => m.body.includes('QUIET0001'))!;
    expect(bookingSms.dateCreated.getTime()).toBeGreaterThanOrEqual(end.startOf('second').toMillis());
    const [row] = await gateway.deliveries.find({ eventId: booking.eventId, channel: 'sms' });
    expect(row!.status).toMatch(/queued|sent|delivered/);
  });
});
