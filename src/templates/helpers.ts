import type Handlebars from 'handlebars';
import { DISRUPTION_TYPES, type DisruptionType } from '../events/index.js';
import { localeText } from './locale-text.js';
import { HelperInputError } from './template-error.js';

/**
 * The helpers every template may use. Value helpers (`money`, `date`, `time`, `datetime`, `label`, `json`) insist on
 * a value: handed nothing they throw, naming the variable as written in the template, so that a template which
 * forgot an `{{#if}}` fails loudly instead of sending "₹NaN". Event helpers (`vehicle`, `disruption`,
 * `disruptionTitle`, `severity`) read the event at the root of the context and need no arguments.
 * The language comes from the `@locale` data variable the renderer sets: the locale of the template in use.
 * No helper reads the recipient: the renderer shares one render among an event's recipients when the template itself
 * names nothing of them (readsRecipient), which a helper reading `recipient` or `name` from the root would defeat.
 */

type HandlebarsEnv = typeof Handlebars;
/** Handlebars fills `ids` (the parameters as written) when templates are compiled with `trackIds`. */
type Options = Handlebars.HelperOptions & {
  ids?: unknown[];
  data?: { locale?: string; root?: Record<string, unknown> };
};

const IST_OFFSET_MS = 330 * 60_000;

/** Registers the helpers on an isolated Handlebars environment (never on the global one). */
export function registerHelpers(env: HandlebarsEnv): void {
  env.registerHelper('money', valueHelper('money', money));
  env.registerHelper('date', valueHelper('date', date));
  env.registerHelper('time', valueHelper('time', time));
  env.registerHelper('datetime', valueHelper('datetime', datetime));
  env.registerHelper('label', valueHelper('label', label));
  env.registerHelper('json', json);
  env.registerHelper('vehicle', (options: Options) => vehicle(root(options), options.data?.locale));
  env.registerHelper('disruption', (options: Options) => disruption(root(options), options.data?.locale));
  env.registerHelper(
    'disruptionTitle',
    (options: Options) =>
      localeText(options.data?.locale).disruptionTitle[disruptionType(root(options), 'disruptionTitle')],
  );
  env.registerHelper('severity', (options: Options) => severity(disruptionType(root(options), 'severity')));
}

type ValueFormatter = (value: unknown, options: Options, fail: (problem: string) => never) => string;

/** Wraps a one-argument helper: checks the argument is there and names it, as written, when it is not. */
function valueHelper(name: string, format: ValueFormatter) {
  return (...args: unknown[]): string => {
    const options = args.pop() as Options;
    const variable = typeof options.ids?.[0] === 'string' ? options.ids[0] : '(no argument)';
    const fail = (problem: string): never => {
      throw new HelperInputError(name, variable, problem);
    };
    const value = args[0];
    if (args.length !== 1) fail(`takes exactly one value, got ${args.length}`);
    if (value === undefined || value === null || value === '') fail('is missing');
    return format(value, options, fail);
  };
}

/** ₹ with two decimals and Indian grouping (₹1,23,456.50); `symbol="Rs."` for GSM-7 SMS, where ₹ costs UCS-2. */
function money(value: unknown, options: Options, fail: (problem: string) => never): string {
  const amount = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof amount !== 'number' || !Number.isFinite(amount)) return fail(`is not an amount (${String(value)})`);
  const [whole = '0', fraction = '00'] = Math.abs(amount).toFixed(2).split('.');
  const head = whole.slice(0, -3);
  const grouped = head ? `${head.replace(/\B(?=(\d{2})+(?!\d))/g, ',')},${whole.slice(-3)}` : whole;
  const symbol = typeof options.hash.symbol === 'string' ? options.hash.symbol : '₹';
  return `${amount < 0 ? '-' : ''}${symbol}${grouped}.${fraction}`;
}

/** A journey date: "Sun, 20 Dec 2026" / "रवि, 20 दिसंबर 2026"; `format="short"`: "20 Dec". */
function date(value: unknown, options: Options, fail: (problem: string) => never): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(value));
  if (!match) return fail(`is not a date (${String(value)})`);
  const day = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  if (Number.isNaN(day.getTime())) return fail(`is not a date (${String(value)})`);
  const text = localeText(options.data?.locale);
  const dayMonth = `${day.getUTCDate()} ${text.months[day.getUTCMonth()]}`;
  if (options.hash.format === 'short') return dayMonth;
  return `${text.weekdays[day.getUTCDay()]}, ${dayMonth} ${day.getUTCFullYear()}`;
}

/** HH:MM from "16:55:00" or "16:55". */
function time(value: unknown, _options: Options, fail: (problem: string) => never): string {
  const match = /^(\d{2}):(\d{2})/.exec(String(value));
  return match ? `${match[1]}:${match[2]}` : fail(`is not a time (${String(value)})`);
}

/**
 * A moment such as bookingDate: "1 Dec 2026, 10:15". Instants with an offset are shown in Indian time, where the
 * operators and their travellers are; local timestamps (no offset) are shown as written.
 */
function datetime(value: unknown, options: Options, fail: (problem: string) => never): string {
  const raw = String(value);
  const hasOffset = /(Z|[+-]\d{2}:?\d{2})$/i.test(raw);
  const ms = Date.parse(hasOffset ? raw : `${raw.slice(0, 19)}Z`);
  if (Number.isNaN(ms)) return fail(`is not a date and time (${raw})`);
  const at = new Date(hasOffset ? ms + IST_OFFSET_MS : ms);
  const text = localeText(options.data?.locale);
  const clock = `${String(at.getUTCHours()).padStart(2, '0')}:${String(at.getUTCMinutes()).padStart(2, '0')}`;
  return `${at.getUTCDate()} ${text.months[at.getUTCMonth()]} ${at.getUTCFullYear()}, ${clock}`;
}

/** An operator code (AC_3_TIER, TATKAL, UPI) in words; unknown codes are spelt out ("AC_4_TIER" → "AC 4 tier"). */
function label(value: unknown, options: Options): string {
  const code = String(value);
  const known = localeText(options.data?.locale).labels[code.toUpperCase()];
  if (known) return known;
  const words = code.split(/[_\s]+/).filter(Boolean);
  return words
    .map((word, i) => (/^[A-Z]{1,3}$/.test(word) ? word : i === 0 ? cap(word.toLowerCase()) : word.toLowerCase()))
    .join(' ');
}

const cap = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

/**
 * JSON for the websocket templates: `{{json pnrNumber}}` writes a JSON value, `{{#json}}text {{x}}{{/json}}` writes
 * the block's text (whitespace collapsed) as one JSON string. Quotes, backslashes and newlines in event data are
 * escaped by JSON.stringify, so they cannot break the document.
 */
function json(this: unknown, ...args: unknown[]): string {
  const options = args.pop() as Options;
  if (typeof options.fn === 'function' && args.length === 0) {
    return JSON.stringify(options.fn(this).replace(/\s+/g, ' ').trim());
  }
  const variable = typeof options.ids?.[0] === 'string' ? options.ids[0] : '(no argument)';
  if (args.length !== 1) throw new HelperInputError('json', variable, `takes exactly one value, got ${args.length}`);
  if (args[0] === undefined) throw new HelperInputError('json', variable);
  return JSON.stringify(args[0]);
}

function root(options: Options): Record<string, unknown> {
  return options.data?.root ?? {};
}

/** "Flight W2121" / "ट्रेन 12951": the disruption's or booking's vehicle, in the template's language. */
function vehicle(event: Record<string, unknown>, locale: string | undefined): string {
  const words = localeText(locale).vehicle;
  if (typeof event.flightNumber === 'string' && event.flightNumber) return `${words.flight} ${event.flightNumber}`;
  if (typeof event.trainNumber === 'string' && event.trainNumber) return `${words.train} ${event.trainNumber}`;
  return words.journey;
}

function disruptionType(event: Record<string, unknown>, helper: string): DisruptionType {
  const type = event.disruptionType;
  if (typeof type === 'string' && (DISRUPTION_TYPES as readonly string[]).includes(type)) return type as DisruptionType;
  throw new HelperInputError(
    helper,
    'disruptionType',
    type === undefined ? 'is missing' : `is unknown (${String(type)})`,
  );
}

/** What happened, as the predicate after the vehicle: "is delayed by 90 minutes", "अब प्लेटफ़ॉर्म 5 से रवाना होगी". */
function disruption(event: Record<string, unknown>, locale: string | undefined): string {
  const words = localeText(locale).disruption;
  const payload = (event.payload && typeof event.payload === 'object' ? event.payload : {}) as Record<string, unknown>;
  const present = (value: unknown) =>
    (typeof value === 'string' || typeof value === 'number') && String(value).trim() !== '';
  switch (disruptionType(event, 'disruption')) {
    case 'FLIGHT_DELAY':
    case 'TRAIN_DELAY': {
      const minutes = Number(payload.minutes);
      return present(payload.minutes) && Number.isFinite(minutes) && minutes > 0
        ? words.delayedBy(Math.round(minutes))
        : words.delayed;
    }
    case 'FLIGHT_CANCELLED':
    case 'TRAIN_CANCELLED':
      return words.cancelled;
    case 'PLATFORM_CHANGE':
      return present(payload.platform) ? words.platform(String(payload.platform)) : words.platformChanged;
    case 'GATE_CHANGE':
      return present(payload.gate) ? words.gate(String(payload.gate)) : words.gateChanged;
    case 'DESTINATION_DISRUPTION':
      return present(event.destination) ? words.destination(String(event.destination)) : words.destinationUnknown;
  }
}

/** How loudly the browser should show a disruption: a cancellation is critical, the rest need attention. */
function severity(type: DisruptionType): 'critical' | 'warning' {
  return type === 'FLIGHT_CANCELLED' || type === 'TRAIN_CANCELLED' ? 'critical' : 'warning';
}
