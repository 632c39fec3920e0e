import { describe, expect, it } from 'vitest';
import { redactProviderText } from './redact.js';

describe('redactProviderText', () => {
  it.each([
    // Twilio
    [
      'Twilio 21211',
      "Twilio: The 'To' number +919812345678 is not a valid phone number.",
      "Twilio: The 'To' number [phone] is not a valid phone number.",
    ],
    [
      'a WhatsApp address',
      'Twilio: whatsapp:+919812345678 has not opted in',
      'Twilio: whatsapp:[phone] has not opted in',
    ],
    ['a number printed with spaces', 'cannot reach +91 98123 45678 today', 'cannot reach [phone] today'],
    ['a number without its plus', 'number 919812345678 is a landline', 'number [phone] is a landline'],
    [
      'account and message sids stay',
      'Message SM0123456789abcdef0123456789abcdef on AC00000000000000000000000000000000 not found',
      'Message SM0123456789abcdef0123456789abcdef on AC00000000000000000000000000000000 not found',
    ],
    [
      'Twilio codes and its help link stay',
      'Twilio: Authenticate (20003) https://www.twilio.com/docs/errors/20003.',
      'Twilio: Authenticate (20003) https://www.twilio.com/docs/errors/20003.',
    ],
    // SMTP
    [
      'SMTP 550 with the address in brackets',
      "Can't send mail - all recipients were rejected: 550 5.1.1 <asha.k@example.com>: Recipient address rejected",
      "Can't send mail - all recipients were rejected: 550 5.1.1 <[email]>: Recipient address rejected",
    ],
    [
      'a bare address',
      '553 sender alerts@gateway.local not allowed to send for asha+trip@mail.example.co.in',
      '553 sender [email] not allowed to send for [email]',
    ],
    ['an address cut short by truncation', 'rejected: asha.k@', 'rejected: [email]'],
    [
      'SMTP 535 stays readable',
      'Invalid login: 535 5.7.8 Username and Password not accepted',
      'Invalid login: 535 5.7.8 Username and Password not accepted',
    ],
    ['a host and port stay', 'connect ECONNREFUSED 127.0.0.1:1025', 'connect ECONNREFUSED 127.0.0.1:1025'],
    // URLs and credentials
    [
      'URL user info',
      'connect to smtp://mailer:s3cret@smtp.example.com:587 failed',
      'connect to smtp://smtp.example.com:587 failed',
    ],
    [
      'URL query and fragment',
      'GET https://api.example.com/v1/lookup?to=%2B919812345678&token=abc#frag: 500',
      'GET https://api.example.com/v1/lookup: 500',
    ],
    [
      'a URL path keeps its shape',
      'POST https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json returned 401',
      'POST https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json returned 401',
    ],
    [
      'a Bearer token',
      'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.sig refused',
      'Authorization: Bearer [token] refused',
    ],
    ['a Basic credential', 'sent Basic QUMwMDA6ZGV2LXR3aWxpby10b2tlbg== and got 401', 'sent Basic [token] and got 401'],
    ['the word Basic stays', 'Basic authentication failed', 'Basic authentication failed'],
    [
      'a secret assigned',
      'bad config password=hunter2; api_key: "k-123"',
      'bad config password=[secret]; api_key: [secret]',
    ],
    ['plain text stays', 'circuit open for twilio', 'circuit open for twilio'],
  ])('%s', (_, input, expected) => {
    expect(redactProviderText(input)).toBe(expected);
  });

  it('gives the same text when applied twice', () => {
    const once = redactProviderText(
      '550 <asha@example.com> https://u:p@x.example/a?b=1 Bearer abc123def456 +919812345678 token=t0k',
    );
    expect(redactProviderText(once)).toBe(once);
  });
});
