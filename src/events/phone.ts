import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

/**
 * The operator's bookings carry Indian numbers without a country code ("9876543210"), so that is the region assumed
 * when a number has no leading +.
 */
export const DEFAULT_PHONE_REGION: CountryCode = 'IN';

/**
 * Turns a phone number into E.164, or returns undefined when it cannot be a phone number at all. A number that is
 * possible but not assigned in its country is kept: deciding that is the provider's job (Twilio's error 21211).
 */
export function toE164(raw: string, region: CountryCode = DEFAULT_PHONE_REGION): string | undefined {
  const parsed = parsePhoneNumberFromString(raw, region);
  return parsed?.isPossible() ? parsed.number : undefined;
}
