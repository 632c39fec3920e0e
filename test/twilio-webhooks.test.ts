import { randomBytes } from 'node:crypto';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingConfirmed } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { emailsTo } from './helpers/maildev.js';
import { waitFor } from './helpers/wait-for.js';

describe('Twilio webhooks: status callbacks and STOP / START', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway('webhooks');
  });
  afterAll(async () => {
    await gateway?.close();
  });

  const reply = (from: string, body: string) =>
    fetch(`${gateway.config.TWILIO_API_BASE_URL}/sandbox/inbound`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from, body }),
    });
  const postStatus = (headers: Record<string, string>, params: Record<string, string>) =>
    fetch(`${gateway.apiUrl}/webhooks/twilio/status`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(params).toString(),
    });

  it('follows each SMS to delivered through the signed status callbacks', async () => {
    const userId = `cb-${randomBytes(3).toString('hex')}`;
    const phone = uniquePhone();
    const { eventId } = await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        pnrNumber: 'CALLBACK1',
        userId,
        userPhone: phone,
        userEmail: uniqueEmail('cb'),
      }),
    );
    const sms = await waitFor('the SMS delivered', async () => {
      const [row] = await gateway.deliveries.find({ eventId, channel: 'sms' });
      return row?.status === 'delivered' ? row : undefined;
    });
    expect(sms.providerId).toMatch(/^SM[0-9a-f]{32}$/);
  });

  it('refuses a callback without a signature (400) or with a wrong one (403)', async () => {
    const params = { MessageSid: `SM${'0'.repeat(32)}`, MessageStatus: 'delivered' };
    const missing = await postStatus({}, params);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ details: [{ path: 'x-twilio-signature' }] });
    const forged = twilio.getExpectedTwilioSignature(
      'another-token',
      `${gateway.apiUrl}/webhooks/twilio/status`,
      params,
    );
    expect((await postStatus({ 'x-twilio-signature': forged }, params)).status).toBe(403);
    const genuine = twilio.getExpectedTwilioSignature(
      gateway.config.TWILIO_AUTH_TOKEN,
      `${gateway.apiUrl}/webhooks/twilio/status`,
      params,
    );
    expect((await postStatus({ 'x-twilio-signature': genuine }, params)).status).toBe(204);
  });

  it('STOP from a phone turns SMS off for its owner, START turns it back on', async () => {
    const userId = `stop-${randomBytes(3).toString('hex')}`;
    const phone = uniquePhone();
    const email = uniqueEmail('stop');
    await gateway.preferences.update(userId, { email, phone });
    const sms = () => gateway.sandbox.store.list((m) => m.to === phone);

    const stopped = await reply(phone, ' stop ');
    expect(stopped.status).toBe(200);
    expect(await stopped.json()).toMatchObject({ webhookStatus: 200 });
    expect((await gateway.preferences.get(userId))!.channels).toMatchObject({ sms: false });

    await gateway.producer.publish(
      bookingConfirmed({ eventId: undefined, pnrNumber: 'STOPPED01', userId, userEmail: email, userPhone: phone }),
    );
    await waitFor('the email, which STOP does not touch', async () => (await emailsTo(email)).length === 1);
    await waitFor('the WhatsApp', () => gateway.sandbox.store.list((m) => m.to === `whatsapp:${phone}`).length === 1);
    expect(sms()).toHaveLength(0);

    await reply(phone, 'START');
    expect((await gateway.preferences.get(userId))!.channels).toMatchObject({ sms: true });
    await gateway.producer.publish(
      bookingConfirmed({ eventId: undefined, pnrNumber: 'STARTED01', userId, userEmail: email, userPhone: phone }),
    );
    await waitFor('an SMS again', () => sms().length === 1);
    expect(sms()[0]!.body).toContain('STARTED01');
  });
});
