import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTwilioClient } from '../src/channels/twilio-client.js';
import { bookingConfirmed } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { emailsTo } from './helpers/maildev.js';
import { waitFor } from './helpers/wait-for.js';

const DEVANAGARI = /[\u0900-\u097F]/;

describe('delivery by email, SMS, WhatsApp and Socket.IO', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway('delivery');
  });
  afterAll(async () => {
    await gateway?.close();
  });

  const traveller = (name: string) => ({
    userId: `${name}-${randomBytes(3).toString('hex')}`,
    email: uniqueEmail(name),
    phone: uniquePhone(),
  });
  const smsTo = (phone: string) => gateway.sandbox.store.list((m) => m.to === phone);
  const whatsappTo = (phone: string) => gateway.sandbox.store.list((m) => m.to === `whatsapp:${phone}`);

  it('a booking-confirmed from the producer reaches its traveller on every channel, and no one else', async () => {
    const asha = traveller('asha');
    const other = traveller('other');
    const ashaSocket = await gateway.connectAs(asha.userId);
    const otherSocket = await gateway.connectAs(other.userId);
    const pnr = `P${randomBytes(4).toString('hex').toUpperCase()}`;

    const receipt = await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: pnr,
        userId: asha.userId,
        userEmail: asha.email,
        userPhone: asha.phone,
        userName: 'Asha Rao',
      }),
    );

    const [email] = await waitFor('the email in MailDev', async () =>
      (await emailsTo(asha.email)).length ? emailsTo(asha.email) : undefined,
    );
    expect(email!.subject).toContain(pnr);
    await waitFor(
      'SMS and WhatsApp in the sandbox',
      () => smsTo(asha.phone).length > 0 && whatsappTo(asha.phone).length > 0,
    );
    await waitFor('the alert on her socket', () => ashaSocket.alerts.length > 0);

    // As the SDK lists them, exactly as from Twilio.
    const twilio = createTwilioClient({
      accountSid: gateway.config.TWILIO_ACCOUNT_SID,
      authToken: gateway.config.TWILIO_AUTH_TOKEN,
      baseUrl: gateway.config.TWILIO_API_BASE_URL,
    });
    const sms = await twilio.messages.list({ to: asha.phone });
    expect(sms).toHaveLength(1);
    expect(sms[0]!.body).toContain(pnr);
    expect(sms[0]!.from).toBe(gateway.config.TWILIO_SMS_FROM);
    const whatsapp = await twilio.messages.list({ to: `whatsapp:${asha.phone}` });
    expect(whatsapp).toHaveLength(1);
    expect(whatsapp[0]!.from).toBe(gateway.config.TWILIO_WHATSAPP_FROM);
    expect(ashaSocket.alerts).toHaveLength(1);
    expect(ashaSocket.alerts[0]).toMatchObject({ eventId: receipt.eventId, eventType: 'BOOKING_CONFIRMED' });

    // The other traveller's only alert is their own, sent afterwards: nothing of Asha's reached them.
    await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: `Q${pnr.slice(1)}`,
        userId: other.userId,
        userEmail: other.email,
      }),
    );
    await waitFor('the other traveller’s own alert', () => otherSocket.alerts.length > 0);
    expect(otherSocket.alerts.map((a) => a.pnrNumber)).toEqual([`Q${pnr.slice(1)}`]);
    expect(await emailsTo(asha.email)).toHaveLength(1);

    const deliveries = await gateway.deliveries.find({ eventId: receipt.eventId });
    // Twilio's answer is 'queued'; its status callbacks may already have moved the message on.
    const byChannel = Object.fromEntries(deliveries.map((d) => [d.channel, d.status]));
    expect(Object.keys(byChannel).sort()).toEqual(['email', 'sms', 'websocket', 'whatsapp']);
    expect(byChannel).toMatchObject({ email: 'sent', websocket: 'delivered' });
    expect([byChannel.sms, byChannel.whatsapp]).toEqual([
      expect.stringMatching(/^(queued|sent|delivered)$/),
      expect.stringMatching(/^(queued|sent|delivered)$/),
    ]);
    expect(deliveries.every((d) => d.providerId)).toBe(true);

    // Operators see how long travellers waited, per channel: each message of the two bookings counted once.
    const metrics = await (await fetch(`${gateway.apiUrl}/metrics`)).text();
    const counted = Object.fromEntries(
      [...metrics.matchAll(/^gateway_delivery_latency_seconds_count\{channel="(\w+)"\} (\d+)$/gm)].map((m) => [
        m[1],
        Number(m[2]),
      ]),
    );
    expect(counted).toEqual({ email: 2, sms: 2, whatsapp: 2, websocket: 2 });
  });

  it('a train disruption reaches exactly the 50 travellers on that train, on each channel, and none of the other 50', async () => {
    const onTrain = Array.from({ length: 50 }, (_, i) => traveller(`on${i}`));
    const elsewhere = Array.from({ length: 50 }, (_, i) => traveller(`off${i}`));
    for (const [people, train] of [
      [onTrain, '12951'],
      [elsewhere, '12952'],
    ] as const) {
      for (const person of people) {
        await gateway.preferences.update(person.userId, { email: person.email, phone: person.phone });
        await gateway.itineraries.add({
          userId: person.userId,
          vehicleKind: 'train',
          vehicleNumber: train,
          journeyDate: '2026-12-20',
        });
      }
    }
    const watcherOn = await gateway.connectAs(onTrain[0]!.userId);
    const watcherOff = await gateway.connectAs(elsewhere[0]!.userId);

    const { eventId } = await gateway.producer.publish({
      eventType: 'TRAVEL_DISRUPTION',
      disruptionType: 'TRAIN_DELAY',
      trainNumber: '12951',
      journeyDate: '2026-12-20',
      payload: { minutes: 45, reason: 'fog' },
    });

    const sentTo = async (channel: string) =>
      (await gateway.deliveries.find({ eventId, channel: channel as 'email' })).filter((d) => d.status !== 'sending');
    await waitFor(
      'all 200 deliveries',
      async () =>
        (await Promise.all(['email', 'sms', 'whatsapp', 'websocket'].map(sentTo))).every((d) => d.length === 50),
      { timeoutMs: 60_000 },
    );

    expect(await emailsTo(onTrain.map((p) => p.email))).toHaveLength(50);
    expect(await emailsTo(elsewhere.map((p) => p.email))).toHaveLength(0);
    expect(onTrain.map((p) => smsTo(p.phone).length)).toEqual(Array(50).fill(1));
    expect(onTrain.map((p) => whatsappTo(p.phone).length)).toEqual(Array(50).fill(1));
    expect(elsewhere.flatMap((p) => [...smsTo(p.phone), ...whatsappTo(p.phone)])).toHaveLength(0);
    await waitFor('the live alert', () => watcherOn.alerts.length === 1);
    expect(watcherOn.alerts[0]).toMatchObject({ eventId, eventType: 'TRAVEL_DISRUPTION' });
    expect(watcherOff.alerts).toHaveLength(0);
    const { rows } = await gateway.pool.query('SELECT DISTINCT user_id FROM inbox WHERE event_id = $1', [eventId]);
    expect(rows.map((r) => r.user_id).sort()).toEqual(onTrain.map((p) => p.userId).sort());
  });

  it('a traveller who turned SMS off for bookings gets email, WhatsApp and the alert, and no SMS', async () => {
    const ravi = traveller('ravi');
    await gateway.preferences.update(ravi.userId, {
      email: ravi.email,
      phone: ravi.phone,
      eventChannels: { BOOKING_CONFIRMED: { sms: false } },
    });
    const socket = await gateway.connectAs(ravi.userId);
    const { eventId } = await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: 'SMSOFF123',
        userId: ravi.userId,
        userEmail: ravi.email,
        userPhone: ravi.phone,
      }),
    );

    await waitFor(
      'email, WhatsApp and the alert',
      async () =>
        (await emailsTo(ravi.email)).length === 1 && whatsappTo(ravi.phone).length === 1 && socket.alerts.length === 1,
    );
    const sms = await waitFor(
      'the SMS decision',
      async () => (await gateway.deliveries.find({ eventId, channel: 'sms' }))[0],
    );
    expect(sms).toMatchObject({ status: 'skipped', errorCode: 'PREFERENCE_OFF' });
    expect(smsTo(ravi.phone)).toHaveLength(0);
  });

  it('speaks Hindi to a traveller whose locale is hi, and English where a Hindi template is missing', async () => {
    const meera = traveller('meera');
    await gateway.preferences.update(meera.userId, { email: meera.email, phone: meera.phone, locale: 'hi' });
    const socket = await gateway.connectAs(meera.userId);
    await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: 'HINDI1234',
        userId: meera.userId,
        userEmail: meera.email,
        userPhone: meera.phone,
      }),
    );
    const [email] = await waitFor('her email', async () =>
      (await emailsTo(meera.email)).length ? emailsTo(meera.email) : undefined,
    );
    expect(email!.subject).toMatch(DEVANAGARI);
    expect(email!.subject).toContain('HINDI1234');
    await waitFor('her SMS', () => smsTo(meera.phone).length === 1);
    expect(smsTo(meera.phone)[0]!.body).toMatch(DEVANAGARI);

    // payment-completed has no Hindi websocket template: the alert comes in English.
    await gateway.producer.publish({
      eventType: 'PAYMENT_COMPLETED',
      pnrNumber: 'HINDI1234',
      userId: meera.userId,
      userEmail: meera.email,
      amountPaid: 3105,
    });
    await waitFor('two alerts', () => socket.alerts.length === 2);
    const payment = socket.alerts.find((a) => a.eventType === 'PAYMENT_COMPLETED')!;
    expect(`${payment.title} ${payment.body}`).not.toMatch(DEVANAGARI);
    expect(socket.alerts.find((a) => a.eventType === 'BOOKING_CONFIRMED')!.title).toMatch(DEVANAGARI);
  });
});
