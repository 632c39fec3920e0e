import { describe, expect, it } from 'vitest';
import { CircuitOpenError } from '../channels/breaker.js';
import { asLookupFailure, DeliveryError } from '../channels/channel.js';
import { AuthError } from '../http/jwt.js';
import { TemplateError } from '../templates/template-error.js';
import { GATEWAY_ERROR_CODES, HTTP_ERROR_CODES, isNetworkErrorCode } from './codes.js';
import { GatewayError } from './gateway-error.js';

/** The families codes.ts types as template literals: Twilio's numbers, SMTP replies and socket codes, HTTP statuses. */
const FAMILY = /^(TWILIO_\d+|HTTP_\d+|SMTP_\d+|SMTP_E[A-Z0-9_]+|E[A-Z0-9_]+)$/;
const known = (code: string) => (GATEWAY_ERROR_CODES as readonly string[]).includes(code) || FAMILY.test(code);

const cause = new Error('the provider said no');

describe('every gateway error', () => {
  it.each<[string, GatewayError, string, string, boolean]>([
    [
      'a permanent delivery failure',
      new DeliveryError('invalid number', 'TWILIO_21211', false),
      'DeliveryError',
      'TWILIO_21211',
      false,
    ],
    [
      'a transient one',
      new DeliveryError('timed out', 'PROVIDER_TIMEOUT', true, { cause }),
      'DeliveryError',
      'PROVIDER_TIMEOUT',
      true,
    ],
    [
      'a provider-wide one',
      new DeliveryError('535', 'SMTP_AUTH', true, { cause, providerWide: true }),
      'DeliveryError',
      'SMTP_AUTH',
      true,
    ],
    ['a look-up that failed', asLookupFailure(cause), 'DeliveryError', 'PROVIDER_LOOKUP_FAILED', true],
    ['an open breaker', new CircuitOpenError('twilio'), 'CircuitOpenError', 'CIRCUIT_OPEN', true],
    [
      'a broken template',
      new TemplateError('missing', 'booking-confirmed/sms.en.hbs', 'totalFare'),
      'TemplateError',
      'TEMPLATE_ERROR',
      false,
    ],
    [
      'an expired user token',
      new AuthError('TOKEN_EXPIRED', 'token expired', { cause }),
      'AuthError',
      'TOKEN_EXPIRED',
      false,
    ],
  ])('%s: a GatewayError named %s with code %s, retriable %s', (_, error, name, code, retriable) => {
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name, code, retriable });
    expect(known(error.code), `${error.code} is in codes.ts`).toBe(true);
  });

  it('keeps the cause it was given, and has none otherwise', () => {
    expect(new DeliveryError('m', 'SMTP_550', false, { cause }).cause).toBe(cause);
    expect(asLookupFailure(cause).cause).toBe(cause);
    expect(new TemplateError('m', 'f.hbs', undefined, { cause }).cause).toBe(cause);
    expect('cause' in new DeliveryError('m', 'SMTP_550', false)).toBe(false);
    expect('cause' in new GatewayError('m', { code: 'UNHANDLED', retriable: false })).toBe(false);
  });

  it('passes an error already classified through the look-up unchanged', () => {
    const open = new CircuitOpenError('smtp');
    expect(asLookupFailure(open)).toBe(open);
  });
});

describe('the list of codes', () => {
  it('names each code once', () => {
    const seen = new Set<string>();
    const twice = GATEWAY_ERROR_CODES.filter((code) => seen.size === seen.add(code).size);
    expect(twice).toEqual([]);
  });

  it.each(GATEWAY_ERROR_CODES.filter((code) => !(HTTP_ERROR_CODES as readonly string[]).includes(code)))(
    '%s is upper snake case and no member of a numbered family',
    (code) => {
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      // TWILIO_AUTH beside TWILIO_<n> is fine; a fixed TWILIO_20003 would be a second name for Twilio's own code.
      expect(code).not.toMatch(/^(TWILIO|HTTP|SMTP)_\d+$/);
    },
  );

  it.each(HTTP_ERROR_CODES)('the HTTP answer %s is lower snake case, as clients match it', (code) => {
    expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });

  it.each([
    ['ECONNRESET', true],
    ['ERR_NETWORK', true],
    ['ETIMEDOUT', true],
    ['UND_ERR_SOCKET', false],
    ['econnreset', false],
    [20003, false],
    [undefined, false],
  ])('isNetworkErrorCode(%s) is %s', (code, expected) => {
    expect(isNetworkErrorCode(code)).toBe(expected);
  });
});
