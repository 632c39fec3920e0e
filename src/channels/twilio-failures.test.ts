import { describe, expect, it } from 'vitest';
import { classifyTwilioError } from './twilio-failures.js';

/** The fields of the SDK's RestException that classification reads. */
const rest = (status: number, code: number, message: string) => Object.assign(new Error(message), { status, code });

describe('classifyTwilioError', () => {
  it.each([
    ['20003 Authenticate', rest(401, 20003, 'Authenticate'), 'TWILIO_AUTH', true, true],
    [
      '20404 for an account that does not exist',
      rest(404, 20404, 'The requested resource /2010-04-01/Accounts/AC1/Messages.json was not found'),
      'TWILIO_AUTH',
      true,
      true,
    ],
    ['20005 account not active', rest(401, 20005, 'Account not active'), 'TWILIO_AUTH', true, true],
    ['a 401 with no code', Object.assign(new Error('Unauthorized'), { status: 401 }), 'TWILIO_AUTH', true, true],
    [
      '21211 invalid number',
      rest(400, 21211, "The 'To' number +919812345678 is not a valid phone number."),
      'TWILIO_21211',
      false,
      false,
    ],
    ['20429 rate limit', rest(429, 20429, 'Too Many Requests'), 'TWILIO_20429', true, false],
    ['20500 server error', rest(500, 20500, 'Internal Server Error'), 'TWILIO_20500', true, false],
    [
      'another 4xx',
      rest(400, 21617, 'The concatenated message body exceeds the 1600 character limit.'),
      'TWILIO_21617',
      false,
      false,
    ],
    ['a network error', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'ECONNRESET', true, false],
    [
      '20008 test credentials',
      rest(403, 20008, 'Resource not accessible with Test Account Credentials'),
      'TWILIO_AUTH',
      true,
      true,
    ],
    [
      '21610 the number sent STOP',
      rest(400, 21610, 'Attempt to send to unsubscribed recipient'),
      'TWILIO_21610',
      false,
      false,
    ],
    [
      '21614 not a mobile number',
      rest(400, 21614, "'To' number is not a valid mobile number"),
      'TWILIO_21614',
      false,
      false,
    ],
    [
      '63015 not on the WhatsApp sandbox',
      rest(400, 63015, 'Channel Sandbox can only send to joined numbers'),
      'TWILIO_63015',
      false,
      false,
    ],
    [
      '63016 outside the WhatsApp window',
      rest(400, 63016, 'Failed to send freeform message outside the window'),
      'TWILIO_63016',
      false,
      false,
    ],
    ['30006 a landline', rest(400, 30006, 'Landline or unreachable carrier'), 'TWILIO_30006', false, false],
    [
      '30003 unreachable for now, though a 4xx',
      rest(400, 30003, 'Unreachable destination handset'),
      'TWILIO_30003',
      true,
      false,
    ],
    ['a 503 with no code', Object.assign(new Error('Service Unavailable'), { status: 503 }), 'HTTP_503', true, false],
    ['a 429 with no code', Object.assign(new Error('Too Many Requests'), { status: 429 }), 'HTTP_429', true, false],
    ['a 404 with no code', Object.assign(new Error('Not Found'), { status: 404 }), 'HTTP_404', false, false],
    [
      'a timeout',
      Object.assign(new Error('timeout of 10000ms exceeded'), { code: 'ETIMEDOUT' }),
      'ETIMEDOUT',
      true,
      false,
    ],
    ['nothing to go on', new Error('something odd'), 'TWILIO_NETWORK', true, false],
  ])('%s: %s, retriable %s, provider-wide %s', (_, error, code, retriable, providerWide) => {
    expect(classifyTwilioError(error)).toMatchObject({ code, retriable, providerWide });
  });

  it('keeps the reason and drops the number', () => {
    const { message } = classifyTwilioError(
      rest(400, 21211, "The 'To' number whatsapp:+919812345678 is not a valid phone number."),
    );
    expect(message).toBe("Twilio: The 'To' number whatsapp:[phone] is not a valid phone number.");
  });
});
