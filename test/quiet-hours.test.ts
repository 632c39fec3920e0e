import { randomBytes } from 'node:crypto';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUserToken } from '../src/http/jwt.js';
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
    // Set as the person would, through the preferences API with their own token.
    const token = await signUserToken(gateway.config.JWT_SECRET, userId);
    const saved = await fetch(`${gateway.apiUrl}/users/${userId}/preferences`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        quietHours: {
          start: now.minus({ minutes: 1 }).toFormat('HH:mm:ss'),
          end: end.toFormat('HH:mm:ss'),
          timeZone: 'Asia/Kolkata',
        },
      }),
    });
    expect(saved.status, await saved.clone().text()).toBe(200);
    const sms = () => gateway.sandbox.store.list((m) => m.to === phone);

    const booking = await gateway.producer.publish(
      bookingConfirmed({ eventId: undefined, pnrNumber: 'QUIET0001', userId, userEmail: email, userPhone: phone }),
    );
    await waitFor('the email, which quiet hours do not hold', async () => (await emailsTo(email)).length === 1);
    const held = await waitFor(
      'the SMS held',
      async () => (await gateway.deliveries.find({ eventId: booking.eventId, channel: 'sms' }))[0],
    );
    expect(held.status).toBe('deferred');

    await gateway.producer.publish({
      eventType: 'TRAVEL_DISRUPTION',
      disruptionType: 'TRAIN_CANCELLED',
      trainNumber: '12951',
    });
    await waitFor('the cancellation SMS at once', () => sms().length === 1);
    expect(sms()[0]!.body).not.toContain('QUIET0001');
    expect(Date.now()).toBeLessThan(end.toMillis());

    const released = await waitFor('the booking SMS after the window', () => (sms().length === 2 ? sms() : undefined), {
      timeoutMs: 40_000,
    });
    const bookingSms = released.find((m) => m.body.includes('QUIET0001'))!;
    expect(bookingSms.dateCreated.getTime()).toBeGreaterThanOrEqual(end.startOf('second').toMillis());
    const [row] = await gateway.deliveries.find({ eventId: booking.eventId, channel: 'sms' });
    expect(row!.status).toMatch(/queued|sent|delivered/);
  });
});
