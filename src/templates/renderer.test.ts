import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CHANNELS,
  DISRUPTION_TYPES,
  EVENT_TYPES,
  TOPIC_BY_EVENT_TYPE,
  type Channel,
  type EventType,
} from '../events/index.js';
import { createTemplateRenderer, localeCandidates, type Rendered, type RenderInput } from './renderer.js';
import { sampleDisruption, sampleEvent, sampleRecipient } from './samples.js';
import { TemplateError } from './template-error.js';
import { readsRecipient } from './template-files.js';
import Handlebars from 'handlebars';

const renderer = createTemplateRenderer();
const DEVANAGARI = /[\u0900-\u097F]/;
const BOOKING_TYPES = EVENT_TYPES.filter((type) => type !== 'TRAVEL_DISRUPTION');

function render(eventType: EventType, channel: Channel, options: Partial<RenderInput> = {}): Rendered {
  return renderer.render({
    eventType,
    channel,
    locale: 'en',
    event: sampleEvent(eventType),
    recipient: { userId: '1001' },
    ...options,
  });
}

/** Everything a person could see: subject, both email parts, the text, the websocket JSON. */
function visible(out: Rendered): string {
  return [out.subject, out.html, out.text, out.payload && JSON.stringify(out.payload)].filter(Boolean).join('\n');
}

function expectClean(out: Rendered) {
  expect(visible(out)).not.toMatch(/\bundefined\b|\bnull\b|\bNaN\b|\[object Object\]/);
  expect(out.text.trim()).not.toBe('');
}

describe('every event on every channel, in English', () => {
  for (const eventType of EVENT_TYPES) {
    for (const channel of CHANNELS) {
      it(`${eventType} → ${channel}, with every field and with only the required ones`, () => {
        for (const minimal of [false, true]) {
          const out = render(eventType, channel, { event: sampleEvent(eventType, { minimal }) });
          expect(out.locale).toBe('en');
          expect(out.template).toBe(`${TOPIC_BY_EVENT_TYPE[eventType]}/${channel}.en.hbs`);
          expectClean(out);
          if (channel === 'email') {
            expect(out.subject).toBeTruthy();
            expect(out.html).toMatch(/^<!doctype html>/);
            expect(out.text).not.toMatch(/<[a-z]/i);
          }
          if (channel === 'sms' || channel === 'whatsapp') expect(out.segments?.segments).toBeGreaterThan(0);
          if (channel === 'websocket') expect(out.payload).toMatchObject({ eventType, title: expect.any(String) });
        }
      });
    }
  }

  it('puts the PNR in the subject of every booking email, in English and Hindi', () => {
    for (const eventType of BOOKING_TYPES) {
      for (const locale of ['en', 'hi']) {
        expect(render(eventType, 'email', { locale }).subject).toContain('PNR 4521789630');
      }
    }
    expect(render('BOOKING_CONFIRMED', 'email').subject).toBe('Booking confirmed · PNR 4521789630');
  });

  it('formats money, dates and times for people', () => {
    const email = render('BOOKING_CONFIRMED', 'email');
    expect(email.text).toContain('Total fare: ₹3,054.15');
    expect(email.text).toContain('Date of journey: Sun, 20 Dec 2026');
    expect(email.text).toContain('From: New Delhi, departs 16:55');
    expect(email.text).toContain('Class: AC 3 Tier');
    expect(email.text).toContain('Booked on: 1 Dec 2026, 10:14');
    const big = { ...sampleEvent('BOOKING_CONFIRMED'), totalFare: 1234567.5 };
    expect(render('BOOKING_CONFIRMED', 'email', { event: big }).text).toContain('₹12,34,567.50');
    const hi = render('BOOKING_CONFIRMED', 'email', { locale: 'hi' });
    expect(hi.text).toContain('रवि, 20 दिसंबर 2026');
  });

  it('shows an amount of zero rather than hiding it', () => {
    const event = { ...sampleEvent('BOOKING_CANCELLED'), refundAmount: 0 };
    expect(render('BOOKING_CANCELLED', 'email', { event }).text).toContain('Refund: ₹0.00');
  });
});

describe('escaping', () => {
  const hostile = '<script>alert("x")</script>';

  it('HTML-escapes event data in email HTML, and leaves the text part as plain text', () => {
    const event = { ...sampleEvent('BOOKING_CONFIRMED'), userName: hostile, passengerName: hostile };
    const out = render('BOOKING_CONFIRMED', 'email', { event });
    expect(out.html).toContain('&lt;script&gt;');
    expect(out.html).not.toContain('<script>');
    expect(out.text).toContain(hostile);
  });

  it('keeps quotes, backslashes and newlines in a name intact through the websocket JSON', () => {
    const userName = 'Asha "Ash" Verma\nO\'Brien \\ {x}';
    for (const eventType of BOOKING_TYPES) {
      const out = render(eventType, 'websocket', { event: { ...sampleEvent(eventType), userName } });
      expect(out.payload).toMatchObject({ title: expect.any(String), body: expect.any(String), userName });
      expect(out.text).toBe(out.payload?.body);
    }
  });
});

describe('SMS length', () => {
  for (const eventType of EVENT_TYPES) {
    it(`${eventType}: the full sample fits 2 SMS parts in English (GSM-7) and Hindi`, () => {
      const en = render(eventType, 'sms');
      expect(en.segments).toMatchObject({ encoding: 'GSM-7' });
      expect(en.segments!.segments).toBeLessThanOrEqual(2);
      const hi = render(eventType, 'sms', { locale: 'hi' });
      expect(hi.segments!.segments).toBeLessThanOrEqual(2);
    });
  }
});

describe('locales', () => {
  const hindi = renderer.list().filter((t) => t.locale === 'hi');

  it('renders every Hindi template in Devanagari, with locale "hi"', () => {
    expect(hindi.length).toBeGreaterThanOrEqual(12);
    for (const { eventType, channel, file } of hindi) {
      for (const minimal of [false, true]) {
        const out = render(eventType, channel, { locale: 'hi', event: sampleEvent(eventType, { minimal }) });
        expect(out).toMatchObject({ locale: 'hi', template: file });
        expect(out.text).toMatch(DEVANAGARI);
        if (out.subject) expect(out.subject).toMatch(DEVANAGARI);
        if (out.html) expect(out.html).toContain('<html lang="hi">');
        expectClean(out);
      }
    }
  });

  it('takes a regional tag such as hi-IN to its language', () => {
    expect(localeCandidates('hi-IN')).toEqual(['hi-IN', 'hi', 'en']);
    expect(localeCandidates('hi_in')).toEqual(['hi-IN', 'hi', 'en']);
    expect(render('BOOKING_CONFIRMED', 'sms', { locale: 'hi-IN' }).locale).toBe('hi');
  });

  it('falls back to English when the Hindi template is missing, and for unknown or absent locales', () => {
    expect(renderer.list().some((t) => t.file === 'payment-completed/websocket.hi.hbs')).toBe(false);
    const out = render('PAYMENT_COMPLETED', 'websocket', { locale: 'hi' });
    expect(out).toMatchObject({ locale: 'en', template: 'payment-completed/websocket.en.hbs' });
    expect(out.text).not.toMatch(/[\u0900-\u097F]/);
    expect(render('BOOKING_CONFIRMED', 'sms', { locale: 'fr-FR' }).locale).toBe('en');
    expect(render('BOOKING_CONFIRMED', 'sms', { locale: undefined }).locale).toBe('en');
  });

  it('uses the recipient name first, then the event userName', () => {
    const out = render('BOOKING_CONFIRMED', 'whatsapp', { recipient: { ...sampleRecipient(), name: 'Ravi Kumar' } });
    expect(out.text).toContain('Hello Ravi Kumar');
    expect(render('BOOKING_CONFIRMED', 'whatsapp').text).toContain('Hello Asha Verma');
  });
});

describe('disruptions', () => {
  const expected: Record<(typeof DISRUPTION_TYPES)[number], [string, string]> = {
    FLIGHT_DELAY: ['Flight 6E2131 on Sun, 20 Dec 2026 is delayed by 90 minutes', '90 मिनट देरी से है'],
    FLIGHT_CANCELLED: ['Flight 6E2131 on Sun, 20 Dec 2026 has been cancelled', 'रद्द कर दी गई है'],
    TRAIN_DELAY: ['Train 12951 on Sun, 20 Dec 2026 is delayed by 45 minutes', 'ट्रेन 12951'],
    TRAIN_CANCELLED: ['Train 12951 on Sun, 20 Dec 2026 has been cancelled', 'रद्द कर दी गई है'],
    PLATFORM_CHANGE: ['Train 12951 on Sun, 20 Dec 2026 will now depart from platform 5', 'अब प्लेटफ़ॉर्म 5 से रवाना होगी'],
    GATE_CHANGE: ['Flight 6E2131 on Sun, 20 Dec 2026 will now board at gate 42B', 'की बोर्डिंग अब गेट 42B से होगी'],
    DESTINATION_DISRUPTION: ['is affected by a disruption at Goa (GOX)', 'के गंतव्य Goa (GOX) में व्यवधान है'],
  };

  for (const type of DISRUPTION_TYPES) {
    it(`${type} is described in English and Hindi on every channel`, () => {
      const event = sampleDisruption(type);
      for (const channel of CHANNELS) {
        const en = render('TRAVEL_DISRUPTION', channel, { event });
        const hi = render('TRAVEL_DISRUPTION', channel, { event, locale: 'hi' });
        expect(en.text.replaceAll('*', '')).toContain(expected[type][0]);
        expect(hi.text.replaceAll('*', '')).toContain(expected[type][1]);
        expectClean(en);
        expectClean(hi);
      }
      const severity = type.endsWith('CANCELLED') ? 'critical' : 'warning';
      expect(render('TRAVEL_DISRUPTION', 'websocket', { event }).payload).toMatchObject({
        severity,
        disruptionType: type,
      });
    });
  }
});

describe('list()', () => {
  it('returns every template file, with English for every event and channel', () => {
    const dir = dirname(fileURLToPath(import.meta.url));
    const onDisk = Object.values(TOPIC_BY_EVENT_TYPE).flatMap((topic) =>
      readdirSync(join(dir, topic))
        .filter((name) => name.endsWith('.hbs'))
        .map((name) => `${topic}/${name}`),
    );
    const listed = renderer.list();
    expect(listed.map((t) => t.file).sort()).toEqual(onDisk.sort());
    for (const eventType of EVENT_TYPES) {
      for (const channel of CHANNELS) {
        expect(listed).toContainEqual({
          eventType,
          topic: TOPIC_BY_EVENT_TYPE[eventType],
          channel,
          locale: 'en',
          file: `${TOPIC_BY_EVENT_TYPE[eventType]}/${channel}.en.hbs`,
        });
      }
    }
  });
});

describe('broken templates fail permanently, naming the file', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** A template folder with just these files, e.g. `{ 'booking-confirmed/sms.en.hbs': '…' }`. */
  function folder(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'templates-'));
    dirs.push(dir);
    for (const [file, source] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), source);
    }
    return dir;
  }

  function caught(fn: () => unknown): TemplateError {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(TemplateError);
      return error as TemplateError;
    }
    throw new Error('expected a TemplateError');
  }

  const minimal = { eventType: 'BOOKING_CONFIRMED', locale: 'en', recipient: { userId: '1001' } } as const;

  it('a helper handed a missing value names the template and the variable', () => {
    const broken = createTemplateRenderer({
      dir: folder({ 'booking-confirmed/sms.en.hbs': 'Fare {{money totalFare}}' }),
    });
    const error = caught(() =>
      broken.render({ ...minimal, channel: 'sms', event: sampleEvent('BOOKING_CONFIRMED', { minimal: true }) }),
    );
    expect(error).toMatchObject({
      code: 'TEMPLATE_ERROR',
      retriable: false,
      template: 'booking-confirmed/sms.en.hbs',
      variable: 'totalFare',
    });
    expect(error.message).toContain('booking-confirmed/sms.en.hbs');
    expect(error.message).toContain('totalFare');
  });

  it('malformed Handlebars fails when the renderer is created', () => {
    const error = caught(() =>
      createTemplateRenderer({ dir: folder({ 'booking-cancelled/whatsapp.hi.hbs': 'नमस्ते {{#if name}}{{name}}' }) }),
    );
    expect(error.template).toBe('booking-cancelled/whatsapp.hi.hbs');
    expect(error.message).toMatch(/does not parse/);
  });

  it('an unknown helper fails at creation, naming it', () => {
    const error = caught(() =>
      createTemplateRenderer({ dir: folder({ 'booking-confirmed/sms.en.hbs': 'Fare {{monye totalFare}}' }) }),
    );
    expect(error).toMatchObject({ template: 'booking-confirmed/sms.en.hbs', variable: 'monye' });
  });

  it('websocket templates must JSON-encode values, and must produce a JSON object with title and body', () => {
    const bare = '{ "title": "PNR {{pnrNumber}}", "body": "x" }';
    expect(
      caught(() => createTemplateRenderer({ dir: folder({ 'booking-confirmed/websocket.en.hbs': bare }) })),
    ).toMatchObject({ template: 'booking-confirmed/websocket.en.hbs', variable: 'pnrNumber' });

    const event = sampleEvent('BOOKING_CONFIRMED');
    const noComma = '{ "title": {{json pnrNumber}} "body": "x" }';
    const noBody = '{ "title": {{json pnrNumber}} }';
    for (const source of [noComma, noBody]) {
      const broken = createTemplateRenderer({ dir: folder({ 'booking-confirmed/websocket.en.hbs': source }) });
      const error = caught(() => broken.render({ ...minimal, channel: 'websocket', event }));
      expect(error.template).toBe('booking-confirmed/websocket.en.hbs');
    }
  });

  it('email HTML refuses {{{ }}}, and an email needs a subject line and both parts', () => {
    const layout = '{{!-- html --}}\n<html>{{body}}</html>\n{{!-- text --}}\n{{body}}\n';
    const email = (html: string) => `Subject: PNR {{pnrNumber}}\n{{!-- html --}}\n${html}\n{{!-- text --}}\nHi\n`;
    const cases: Record<string, string> = {
      unescaped: email('<p>{{{userName}}}</p>'),
      noSubject: '{{!-- html --}}\n<p>x</p>\n{{!-- text --}}\nx\n',
      noText: 'Subject: x\n{{!-- html --}}\n<p>x</p>\n',
    };
    for (const source of Object.values(cases)) {
      const dir = folder({ 'layouts/email.en.hbs': layout, 'payment-completed/email.en.hbs': source });
      expect(caught(() => createTemplateRenderer({ dir })).template).toBe('payment-completed/email.en.hbs');
    }
    const dir = folder({ 'payment-completed/email.en.hbs': email('<p>x</p>') });
    expect(caught(() => createTemplateRenderer({ dir })).template).toBe('layouts/email.en.hbs');
  });

  it('a channel without a template, not even in English, is a TemplateError', () => {
    const dir = folder({ 'booking-confirmed/sms.en.hbs': 'PNR {{pnrNumber}}' });
    const partial = createTemplateRenderer({ dir });
    const event = sampleEvent('BOOKING_CONFIRMED');
    const error = caught(() => partial.render({ ...minimal, channel: 'whatsapp', locale: 'hi', event }));
    expect(error.template).toBe('booking-confirmed/whatsapp.<hi|en>.hbs');
    expect(error.retriable).toBe(false);
  });

  it('a misnamed template file is reported instead of being ignored', () => {
    const dir = folder({ 'booking-confirmed/emial.en.hbs': 'x' });
    expect(caught(() => createTemplateRenderer({ dir })).template).toBe('booking-confirmed/emial.en.hbs');
  });
});

describe('one render for every recipient of an event, where the template reads nothing of them', () => {
  const event = sampleDisruption('TRAIN_DELAY');
  const to = (userId: string, name: string, locale = 'en'): RenderInput['recipient'] & { locale: string } => ({
    userId,
    name,
    locale,
  });
  const renderFor = (channel: Channel, person: ReturnType<typeof to>) =>
    renderer.render({ eventType: 'TRAVEL_DISRUPTION', channel, locale: person.locale, event, recipient: person });

  it('hands the same alert to everyone of a locale, and renders each other locale once', () => {
    const first = renderFor('websocket', to('u1', 'Asha'));
    expect(renderFor('websocket', to('u2', 'Ravi'))).toBe(first);
    const hindi = renderFor('websocket', to('u3', 'Meera', 'hi'));
    expect(hindi).not.toBe(first);
    expect(hindi.text).toMatch(DEVANAGARI);
    expect(renderFor('websocket', to('u4', 'Kabir', 'hi'))).toBe(hindi);
    // Another event of the same text is rendered for itself.
    const again = renderer.render({
      eventType: 'TRAVEL_DISRUPTION',
      channel: 'websocket',
      locale: 'en',
      event: { ...event },
      recipient: { userId: 'u1' },
    });
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });

  it('still greets each person by name where the template does', () => {
    const asha = renderFor('email', to('u1', 'Asha'));
    const ravi = renderFor('email', to('u2', 'Ravi'));
    expect(asha.text).toContain('Asha');
    expect(ravi.text).toContain('Ravi');
    expect(ravi.text).not.toContain('Asha');
  });
});

describe('readsRecipient', () => {
  const reads = (source: string) => readsRecipient(Handlebars.parse(source));

  it('finds the recipient and their name however they are reached', () => {
    expect(reads('Hello {{name}}')).toBe(true);
    expect(reads('{{#if recipient.email}}x{{/if}}')).toBe(true);
    expect(reads('{{@root.name}}')).toBe(true);
    expect(reads('{{#each payload.items}}{{../name}}{{/each}}')).toBe(true);
    expect(reads('{{json this}}')).toBe(true);
    expect(reads('{{> footer}}')).toBe(true);
  });

  it('passes a template that reads only the event', () => {
    expect(reads('{{vehicle}} {{disruption}}. {{#if payload.reason}}Reason: {{payload.reason}}.{{/if}}')).toBe(false);
    expect(reads('{{json (severity)}} {{date journeyDate}} {{locale}}')).toBe(false);
  });
});
