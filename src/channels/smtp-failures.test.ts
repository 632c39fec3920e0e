import { describe, expect, it } from 'vitest';
import { classifySmtpError } from './smtp-failures.js';

/** The fields of nodemailer's errors that classification reads (`code`, `responseCode`, and the message it builds). */
const smtp = (message: string, fields: { code?: string; responseCode?: number }) =>
  Object.assign(new Error(message), fields);

describe('classifySmtpError', () => {
  it.each([
    [
      '535 credentials refused',
      smtp('Invalid login: 535 5.7.8 Username and Password not accepted', { code: 'EAUTH', responseCode: 535 }),
      'SMTP_AUTH',
      true,
      true,
    ],
    [
      '534 log in another way',
      smtp('Invalid login: 534-5.7.9 Application-specific password required', { code: 'EAUTH', responseCode: 534 }),
      'SMTP_AUTH',
      true,
      true,
    ],
    ['credentials missing', smtp('Missing credentials for "PLAIN"', { code: 'EAUTH' }), 'SMTP_AUTH', true, true],
    [
      '530 authentication required at MAIL FROM',
      smtp('Mail command failed: 530 5.7.0 Authentication required', { code: 'EENVELOPE', responseCode: 530 }),
      'SMTP_AUTH',
      true,
      true,
    ],
    [
      '550 unknown recipient',
      smtp("Can't send mail - all recipients were rejected: 550 5.1.1 <asha@example.com>: Recipient address rejected", {
        code: 'EENVELOPE',
        responseCode: 550,
      }),
      'SMTP_550',
      false,
      false,
    ],
    [
      '452 mailbox full for now',
      smtp('Data command failed: 452 4.2.2 Mailbox full', { code: 'EMESSAGE', responseCode: 452 }),
      'SMTP_452',
      true,
      false,
    ],
    ['no recipients at all', smtp('No recipients defined', { code: 'EENVELOPE' }), 'SMTP_ENVELOPE', false, false],
    [
      'a refused connection',
      smtp('connect ECONNREFUSED 127.0.0.1:1025', { code: 'ECONNECTION' }),
      'SMTP_ECONNECTION',
      true,
      false,
    ],
    [
      '454 temporary authentication failure',
      smtp('Mail command failed: 454 4.7.0 Temporary authentication failure', { code: 'EENVELOPE', responseCode: 454 }),
      'SMTP_AUTH',
      true,
      true,
    ],
    ['no credentials configured', smtp('Missing credentials', { code: 'ENOAUTH' }), 'SMTP_AUTH', true, true],
    [
      '554 content refused',
      smtp('Message failed: 554 5.7.1 Message rejected as spam', { code: 'EMESSAGE', responseCode: 554 }),
      'SMTP_554',
      false,
      false,
    ],
    [
      '421 service not available, the reply code before the envelope',
      smtp('Mail command failed: 421 4.3.2 Service not available', { code: 'EENVELOPE', responseCode: 421 }),
      'SMTP_421',
      true,
      false,
    ],
    [
      'a greeting that never came',
      smtp('Greeting never received', { code: 'ETIMEDOUT' }),
      'SMTP_ETIMEDOUT',
      true,
      false,
    ],
    [
      'a reset connection',
      smtp('Connection closed unexpectedly', { code: 'ECONNRESET' }),
      'SMTP_ECONNRESET',
      true,
      false,
    ],
    ['a TLS failure', smtp('unable to verify the first certificate', { code: 'ETLS' }), 'SMTP_ETLS', true, false],
    ['an error nodemailer never names', smtp('something odd', {}), 'SMTP_UNKNOWN', true, false],
  ])('%s: %s, retriable %s, provider-wide %s', (_, error, code, retriable, providerWide) => {
    expect(classifySmtpError(error)).toMatchObject({ code, retriable, providerWide });
  });

  it('keeps the reason and drops the address, bracketed or not', () => {
    const bracketed = classifySmtpError(
      smtp(
        "Can't send mail - all recipients were rejected: 550 5.1.1 <asha.k@example.com>: Recipient address rejected",
        { code: 'EENVELOPE', responseCode: 550 },
      ),
    );
    expect(bracketed.message).toBe(
      "SMTP: Can't send mail - all recipients were rejected: 550 5.1.1 <[email]>: Recipient address rejected",
    );
    const bare = classifySmtpError(
      smtp(
        "Can't send mail - all recipients were rejected: 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient asha.k@example.com not found by SMTP address lookup",
        { code: 'EENVELOPE', responseCode: 550 },
      ),
    );
    expect(bare.message).not.toContain('asha');
  });
});
