import { IANAZone } from 'luxon';
import { z } from 'zod';
import { CHANNELS, EVENT_TYPES, type Channel, type EventType } from '../events/index.js';
import { toE164 } from '../events/phone.js';
import type { PreferencesPatch } from '../store/preferences.repository.js';
import { refusing, strict } from './route-schemas.js';

/** Languages the templates are written in; a tag such as `hi-IN` is kept as given and renders in Hindi. */
const LANGUAGES = new Set(['en', 'hi']);

/** Zod's own wording names types ("expected string, received undefined"); a client wants to know what to send. */
const expected = (what: string) => ({
  error: (issue: { input: unknown }) => (issue.input === undefined ? 'required' : what),
});
const flag = z.boolean({ error: 'must be true or false' });
const channelFlags = strict(
  {
    email: flag.optional(),
    sms: flag.optional(),
    whatsapp: flag.optional(),
    websocket: flag.optional(),
  } satisfies Record<Channel, unknown>,
  `unknown channel; known: ${CHANNELS.join(', ')}`,
);
const eventFlags = strict(
  {
    BOOKING_CONFIRMED: channelFlags.optional(),
    BOOKING_CANCELLED: channelFlags.optional(),
    PAYMENT_COMPLETED: channelFlags.optional(),
    TRAVEL_DISRUPTION: channelFlags.optional(),
  } satisfies Record<EventType, unknown>,
  `unknown event type; known: ${EVENT_TYPES.join(', ')}`,
);

const clock = z
  .string(expected('must be a string'))
  .regex(/^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/, 'must be HH:MM or HH:MM:SS (24-hour)');
const withSeconds = (time: string) => (time.length === 5 ? `${time}:00` : time);
const quietHours = strict({
  start: clock,
  end: clock,
  timeZone: z
    .string(expected('must be a string'))
    .refine((zone) => IANAZone.isValidZone(zone), 'not an IANA time zone'),
}).refine((q) => withSeconds(q.start) !== withSeconds(q.end), { path: ['end'], message: 'must differ from start' });

const locale = z.string({ error: 'must be a string' }).transform((tag, ctx) => {
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    if (canonical && LANGUAGES.has(new Intl.Locale(canonical).language)) return canonical;
  } catch {
    // Not a language tag at all: reported below like an unsupported language.
  }
  ctx.addIssue({ code: 'custom', message: "must be 'en' or 'hi', or a language tag for them such as 'hi-IN'" });
  return z.NEVER;
});

const email = z
  .string({ error: 'must be a string' })
  .trim()
  .max(254, 'must be at most 254 characters')
  .pipe(z.email({ error: 'not an email address' }));
const phone = z.string({ error: 'must be a string' }).transform((raw, ctx) => {
  const e164 = toE164(raw);
  if (e164) return e164;
  ctx.addIssue({ code: 'custom', message: 'not a phone number' });
  return z.NEVER;
});

/** A delay threshold: at most a day, as a delay notice can say at most a week but a threshold past a day means none. */
export const delayThreshold = z
  .number({ error: 'must be a whole number of minutes' })
  .int('must be a whole number of minutes')
  .min(1, 'must be from 1 to 1440 minutes')
  .max(1440, 'must be from 1 to 1440 minutes');

const body = strict({
  channels: channelFlags.optional(),
  minDelayMinutes: delayThreshold.nullable().optional(),
  events: eventFlags.optional(),
  quietHours: quietHours.nullable().optional(),
  locale: locale.optional(),
  contact: strict({
    email: email.nullable().optional(),
    phone: phone.nullable().optional(),
    whatsappOptIn: flag.optional(),
  }).optional(),
});

/**
 * A PUT or PATCH body, read into a patch; a 400 names every bad field by its dotted path (an unknown channel or event
 * type with the known ones).
 */
export const preferencesBody = refusing(
  body.transform(
    ({ channels, events, quietHours: quiet, locale: tag, contact, minDelayMinutes }): PreferencesPatch => ({
      channels,
      minDelayMinutes,
      eventChannels: events,
      locale: tag,
      quietHours: quiet && { ...quiet, start: withSeconds(quiet.start), end: withSeconds(quiet.end) },
      email: contact?.email,
      phone: contact?.phone,
      whatsappOptIn: contact?.whatsappOptIn,
    }),
  ),
  { message: 'invalid preferences' },
);
