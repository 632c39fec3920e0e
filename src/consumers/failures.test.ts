import { describe, expect, it } from 'vitest';
import { CircuitOpenError } from '../channels/breaker.js';
import { DeliveryError } from '../channels/channel.js';
import { TemplateError } from '../templates/template-error.js';
import { classifyFailure, pausesChannel } from './failures.js';

const accountRefused = () =>
  new DeliveryError('Twilio: Authenticate (20003: the account was refused)', 'TWILIO_AUTH', true, {
    providerWide: true,
  });

describe('classifyFailure', () => {
  it.each([
    [
      'a permanent provider refusal',
      new DeliveryError("Twilio: The 'To' number +919812345678 is not a valid phone number.", 'TWILIO_21211', false),
      {
        code: 'TWILIO_21211',
        retriable: false,
        message: "Twilio: The 'To' number [phone] is not a valid phone number.",
      },
    ],
    [
      'a transient provider failure',
      new DeliveryError('SMTP: Data command failed: 452 4.2.2 Mailbox full', 'SMTP_452', true),
      { code: 'SMTP_452', retriable: true, message: 'SMTP: Data command failed: 452 4.2.2 Mailbox full' },
    ],
    [
      'a refusal of the account (retriable: the channel waits)',
      accountRefused(),
      { code: 'TWILIO_AUTH', retriable: true, message: 'Twilio: Authenticate (20003: the account was refused)' },
    ],
    ['an open breaker', new CircuitOpenError('twilio'), { code: 'CIRCUIT_OPEN', retriable: true }],
    [
      'a template error, never retried',
      new TemplateError('"totalFare" is missing', 'booking-confirmed/sms.en.hbs', 'totalFare'),
      { code: 'TEMPLATE_ERROR', retriable: false, message: 'booking-confirmed/sms.en.hbs: "totalFare" is missing' },
    ],
    [
      'an unknown error, retried rather than thrown away',
      new Error('Connection terminated unexpectedly'),
      { code: 'UNEXPECTED', retriable: true, message: 'Connection terminated unexpectedly' },
    ],
    [
      'an unknown error naming a person, redacted',
      new Error('no route for asha.k@example.com'),
      { code: 'UNEXPECTED', retriable: true, message: 'no route for [email]' },
    ],
    ['a thrown string', 'boom', { code: 'UNEXPECTED', retriable: true, message: 'boom' }],
    ['undefined', undefined, { code: 'UNEXPECTED', retriable: true, message: 'undefined' }],
    ['null', null, { code: 'UNEXPECTED', retriable: true, message: 'null' }],
  ])('%s', (_, error, failure) => {
    expect(classifyFailure(error)).toMatchObject(failure);
  });
});

describe('pausesChannel', () => {
  it.each([
    ['an open breaker', new CircuitOpenError('smtp'), true],
    ['a refusal of the account', accountRefused(), true],
    ['a transient failure of one message', new DeliveryError('timed out', 'PROVIDER_TIMEOUT', true), false],
    ['a permanent failure of one message', new DeliveryError('bad number', 'TWILIO_21211', false), false],
    ['a template error', new TemplateError('missing', 'booking-confirmed/sms.en.hbs'), false],
    ['an unknown error', new Error('surprise'), false],
    ['an error that only looks provider-wide', Object.assign(new Error('x'), { providerWide: true }), false],
    ['undefined', undefined, false],
  ])('%s: %s', (_, error, pauses) => {
    expect(pausesChannel(error)).toBe(pauses);
  });
});
