import { describe, expect, it } from 'vitest';
import { toE164 } from './phone.js';

describe('toE164', () => {
  it.each([
    // National numbers are read as Indian (the operator's bookings carry them without a country code).
    ['a national mobile number', '9876543210', '+919876543210'],
    ['a national number with the trunk 0', '09876543210', '+919876543210'],
    ['a national landline with its area code', '22 2345 6789', '+912223456789'],
    ['the country code without its plus', '919876543210', '+919876543210'],
    ['the international prefix 00', '0091 98765 43210', '+919876543210'],
    // Any form that reads as E.164: spaces, dashes, brackets.
    ['E.164 already', '+919876543210', '+919876543210'],
    ['spaced', '+91 98765 43210', '+919876543210'],
    ['dashed', '+91-98765-43210', '+919876543210'],
    ['bracketed', '(+91) 98765-43210', '+919876543210'],
    ['another country, with its plus', '+44 20 7946 0958', '+442079460958'],
    ['a US number, punctuated', '+1 (415) 555-2671', '+14155552671'],
    // Possible but not assigned: kept, for the provider to refuse (Twilio 21211).
    ['possible but unassigned', '+915555555555', '+915555555555'],
  ])('%s: %s → %s', (_, raw, e164) => {
    expect(toE164(raw)).toBe(e164);
  });

  it.each([
    ['empty', ''],
    ['words', 'not a phone'],
    ['too short', '123'],
    ['cut short', '+91 98765'],
    ['too long', '98765432101234567'],
    ['no such country code', '+0 1234'],
  ])('%s (%j) cannot be a phone number: undefined', (_, raw) => {
    expect(toE164(raw)).toBeUndefined();
  });

  it.each([
    ['GB', '020 7946 0958', '+442079460958'],
    ['US', '(415) 555-2671', '+14155552671'],
  ] as const)('a national number read in another region (%s): %s → %s', (region, raw, e164) => {
    expect(toE164(raw, region)).toBe(e164);
  });
});
