import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fieldCipherOf } from '../src/util/field-cipher.js';
import { createOptOutsRepository, type OptOutsRepository } from '../src/store/opt-outs.repository.js';
import { startGateway, uniquePhone, type Gateway } from './helpers/full-gateway.js';

/**
 * STOP belongs to the number that sent it: a booking's userPhone may be nobody's stored phone, or differ from the one
 * the person keeps on file, and it must still be honoured (the delivery side reads `isOptedOut`).
 */
describe('STOP and START are recorded for the number that sent them', () => {
  let gateway: Gateway;
  let optOuts: OptOutsRepository;
  beforeAll(async () => {
    gateway = await startGateway('stop-matching');
    optOuts = createOptOutsRepository(gateway.pool, fieldCipherOf(gateway.config));
  });
  afterAll(async () => {
    await gateway?.close();
  });

  /** A reply from a phone, through the sandbox, which signs and posts Twilio's incoming-message webhook. */
  async function reply(from: string, body: string): Promise<void> {
    const response = await fetch(`${gateway.config.TWILIO_API_BASE_URL}/sandbox/inbound`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from, body }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ webhookStatus: 200 });
  }

  it('opts out a number no profile holds, in every spelling a booking may use, and START opts it back in', async () => {
    const phone = uniquePhone();
    const national = phone.slice(3);
    // Someone whose stored phone is another number: a booking for them may still carry this one.
    const userId = `other-${randomBytes(3).toString('hex')}`;
    await gateway.preferences.update(userId, { phone: uniquePhone() });

    expect(await optOuts.isOptedOut(phone, 'sms')).toBe(false);
    await reply(phone, 'Stop');
    expect(await optOuts.isOptedOut(phone, 'sms')).toBe(true);
    expect(await optOuts.isOptedOut(national, 'sms')).toBe(true);
    expect(await optOuts.isOptedOut(`+91 ${national.slice(0, 5)} ${national.slice(5)}`, 'sms')).toBe(true);
    expect(await optOuts.forChannel('sms').has(phone)).toBe(true);
    // An SMS STOP is not a WhatsApp one, and the other person's own number is untouched.
    expect(await optOuts.isOptedOut(phone, 'whatsapp')).toBe(false);
    expect((await gateway.preferences.get(userId))!.channels.sms).toBeUndefined();

    await reply(phone, 'STOP'); // a second STOP changes nothing
    await reply(phone, 'start');
    expect(await optOuts.isOptedOut(phone, 'sms')).toBe(false);
    expect(await optOuts.forChannel('sms').has(national)).toBe(false);
  });

  it('a WhatsApp STOP opts the number out of WhatsApp only; UNSTOP opts it back in', async () => {
    const phone = uniquePhone();
    await reply(`whatsapp:${phone}`, 'UNSUBSCRIBE');
    expect(await optOuts.isOptedOut(phone, 'whatsapp')).toBe(true);
    expect(await optOuts.isOptedOut(`whatsapp:${phone}`, 'whatsapp')).toBe(true);
    expect(await optOuts.isOptedOut(phone, 'sms')).toBe(false);
    await reply(`whatsapp:${phone}`, 'UNSTOP');
    expect(await optOuts.isOptedOut(phone, 'whatsapp')).toBe(false);
  });

  it('answers many look-ups made at once, each for its own number', async () => {
    const stopped = [uniquePhone(), uniquePhone()];
    for (const phone of stopped) await reply(phone, 'STOPALL');
    const others = [uniquePhone(), uniquePhone(), uniquePhone()];
    const answers = await Promise.all([...stopped, ...others, 'not a number'].map((p) => optOuts.isOptedOut(p, 'sms')));
    expect(answers).toEqual([true, true, false, false, false, false]);
  });

  it('keeps stopping the stored owner of the number as before', async () => {
    const phone = uniquePhone();
    const userId = `owner-${randomBytes(3).toString('hex')}`;
    await gateway.preferences.update(userId, { phone });
    await reply(phone, 'STOP');
    expect((await gateway.preferences.get(userId))!.channels).toMatchObject({ sms: false });
    expect(await optOuts.isOptedOut(phone, 'sms')).toBe(true);
  });
});
