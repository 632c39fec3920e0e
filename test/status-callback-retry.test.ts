import { randomBytes, randomUUID } from 'node:crypto';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, uniquePhone, type Gateway } from './helpers/full-gateway.js';

/**
 * Twilio can call back before the worker has recorded the sid its create returned. Such a callback must not be
 * acknowledged and lost: once the ledger's short wait is over, the api answers 503 so Twilio posts it again.
 */
describe('a status callback that overtakes the record of its send', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway('status-retry');
  });
  afterAll(async () => {
    await gateway?.close();
  });

  const sid = () => `SM${randomBytes(16).toString('hex')}`;
  /** Posts a status callback signed with the account's auth token, as Twilio does. */
  function callback(params: Record<string, string>) {
    const url = `${gateway.apiUrl}/webhooks/twilio/status`;
    const signature = twilio.getExpectedTwilioSignature(gateway.config.TWILIO_AUTH_TOKEN, url, params);
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      body: new URLSearchParams(params).toString(),
    });
  }

  it('answers 503 while the send is not recorded, then 204 and the new status once the ledger has the sid', async () => {
    const key = {
      eventId: randomUUID(),
      eventType: 'BOOKING_CONFIRMED' as const,
      channel: 'sms' as const,
      userId: `cb-${randomBytes(3).toString('hex')}`,
    };
    const claim = await gateway.deliveries.claim(key);
    if (!claim.claimed) throw new Error('the delivery was not claimed');
    // Twilio took the message (sid known to Twilio) but the worker has not yet written it down.
    const messageSid = sid();
    const params = {
      MessageSid: messageSid,
      MessageStatus: 'delivered',
      AccountSid: gateway.config.TWILIO_ACCOUNT_SID,
    };

    const early = await callback(params);
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toBeTruthy();
    expect(await early.json()).toMatchObject({ error: 'unavailable' });

    const phone = uniquePhone();
    await gateway.deliveries.markSent(claim.id, {
      providerId: messageSid,
      status: 'queued',
      recipient: phone,
      body: 'Your booking',
    });
    const retried = await callback(params);
    expect(retried.status).toBe(204);
    const [row] = await gateway.deliveries.find({ eventId: key.eventId });
    expect(row).toMatchObject({ status: 'delivered', providerId: messageSid, recipient: phone });
  });

  it('still acknowledges a callback for a sid that is not ours when no send waits for one', async () => {
    const answer = await callback({ MessageSid: sid(), MessageStatus: 'delivered' });
    expect(answer.status).toBe(204);
  });
});
