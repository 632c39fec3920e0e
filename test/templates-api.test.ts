import { randomBytes, randomUUID } from 'node:crypto';
import { fieldCipherOf } from '../src/util/field-cipher.js';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import nodemailer from 'nodemailer';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { CHANNELS, EVENT_TYPES } from '../src/events/index.js';
import { createPool } from '../src/db/pool.js';
import { registerErrorHandling } from '../src/http/errors.js';
import { registerRouteSchemas } from '../src/http/route-schemas.js';
import { previewsRoutes } from '../src/http/previews.routes.js';
import { decodeHeaderSafe, templatesRoutes } from '../src/http/templates.routes.js';
import { createPreferencesRepository } from '../src/store/preferences.repository.js';
import { eventQueues } from '../src/queue/event-queues.js';
import { composeApi, type ComposedApi } from '../src/roles/api.role.js';
import { buildSandboxApp, type SandboxHandle } from '../src/sandbox/sandbox.app.js';
import { createTwilioClient } from '../src/channels/twilio-client.js';
import { createTemplateRenderer } from '../src/templates/renderer.js';
import { freshDatabase, uniqueEmail, uniquePhone } from './helpers/full-gateway.js';
import { deleteQueues } from './helpers/gateway.js';
import { testConfig, testLogger, uniquePrefix } from './helpers/kafka.js';

const SAMPLE_PNR = '4521789630';
const DEVANAGARI = /[\u0900-\u097F]/;

/** The api app on its own database and Twilio sandbox; MailDev and Redis are the shared local ones. */
describe('template previews and operator previews', () => {
  let app: FastifyInstance;
  let config: Config;
  let sandbox: SandboxHandle;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let api: ComposedApi;
  let pool: pg.Pool;
  let redis: Redis;

  beforeAll(async () => {
    const prefix = uniquePrefix('templates-api');
    const base = testConfig(prefix);
    database = await freshDatabase(base.DATABASE_URL);
    sandbox = await buildSandboxApp({
      accountSid: base.TWILIO_ACCOUNT_SID,
      authToken: base.TWILIO_AUTH_TOKEN,
      logger: testLogger,
    });
    const sandboxUrl = await sandbox.app.listen({ host: '127.0.0.1', port: 0 });
    config = testConfig(prefix, { DATABASE_URL: database.url, TWILIO_API_BASE_URL: sandboxUrl });
    api = await composeApi(config, testLogger, { name: 'test-templates-api' });
    app = api.app;
    pool = createPool(config.DATABASE_URL, testLogger);
    redis = new Redis(config.REDIS_URL);
  });
  afterAll(async () => {
    await api?.close();
    await sandbox?.app.close();
    await pool?.end();
    redis?.disconnect();
    if (config) await deleteQueues(config.AMQP_URL, eventQueues(config.AMQP_QUEUE_PREFIX)).catch(() => {});
    await database?.drop();
  });

  describe('GET /templates', () => {
    it('lists every template the renderer compiled', async () => {
      const response = await app.inject({ method: 'GET', url: '/templates' });
      expect(response.statusCode).toBe(200);
      const list = response.json<Array<{ event: string; channel: string; locale: string; file: string }>>();
      expect(list.length).toBeGreaterThan(0);
      const expected = createTemplateRenderer()
        .list()
        .map((t) => ({ event: t.eventType, channel: t.channel, locale: t.locale, file: t.file }));
      const seen = list.map(({ event, channel, locale, file }) => ({ event, channel, locale, file }));
      const byFile = (a: { file: string }, b: { file: string }) => a.file.localeCompare(b.file);
      expect(seen.sort(byFile)).toEqual(expected.sort(byFile));
      // Every event has an English template on every channel.
      for (const event of EVENT_TYPES)
        for (const channel of CHANNELS)
          expect(seen).toContainEqual(expect.objectContaining({ event, channel, locale: 'en' }));
    });
  });

  describe('GET /templates/:event/:channel', () => {
    it('renders an email as the HTML page it is, with the subject in a header', async () => {
      const response = await app.inject({ method: 'GET', url: '/templates/BOOKING_CONFIRMED/email' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.headers['content-security-policy']).toContain("default-src 'none'");
      expect(response.body).toMatch(/^<!doctype html>/i);
      expect(response.body).toContain(SAMPLE_PNR);
      expect(decodeHeaderSafe(String(response.headers['x-template-subject']))).toContain(SAMPLE_PNR);
      expect(response.headers['x-template-file']).toBe('booking-confirmed/email.en.hbs');
    });

    it('gives subject, html and text as JSON with ?format=json, and speaks Hindi with ?locale=hi', async () => {
      const response = await app.inject({
        method: 'GET',
        url: '/templates/booking-confirmed/email?format=json&locale=hi-IN',
      });
      expect(response.statusCode).toBe(200);
      const body = response.json<{ subject: string; html: string; text: string; locale: string; template: string }>();
      for (const part of [body.subject, body.html, body.text]) expect(part).toContain(SAMPLE_PNR);
      expect(body.subject).toMatch(DEVANAGARI);
      expect(body).toMatchObject({ locale: 'hi', template: 'booking-confirmed/email.hi.hbs' });
    });

    it('renders SMS in at most two parts, in English and in Hindi, with the segment count', async () => {
      for (const event of EVENT_TYPES) {
        for (const locale of ['en', 'hi']) {
          const response = await app.inject({ method: 'GET', url: `/templates/${event}/sms?locale=${locale}` });
          expect(response.statusCode, `${event} ${locale}`).toBe(200);
          const body = response.json<{
            text: string;
            segments: { encoding: string; segments: number; characters: number };
            locale: string;
            template: string;
          }>();
          expect(body.text.length).toBeGreaterThan(0);
          expect(body.segments.segments, `${event} ${locale}: ${body.text}`).toBeGreaterThanOrEqual(1);
          expect(body.segments.segments, `${event} ${locale}: ${body.text}`).toBeLessThanOrEqual(2);
          expect(body.segments.encoding).toBe(locale === 'en' ? 'GSM-7' : 'UCS-2');
          expect(body.template).toBe(`${body.template.split('/')[0]}/sms.${locale}.hbs`);
        }
      }
      const booking = (await app.inject({ method: 'GET', url: '/templates/BOOKING_CONFIRMED/sms' })).json<{
        text: string;
      }>();
      expect(booking.text).toContain(SAMPLE_PNR);
    });

    it('renders WhatsApp as text and a websocket alert as its JSON payload; a missing locale falls back to English', async () => {
      const whatsapp = (
        await app.inject({ method: 'GET', url: '/templates/TRAVEL_DISRUPTION/whatsapp?locale=fr' })
      ).json<{ text: string; locale: string }>();
      expect(whatsapp.text).toContain('6E2131');
      expect(whatsapp.locale).toBe('en');
      const alert = await app.inject({
        method: 'GET',
        url: '/templates/TRAVEL_DISRUPTION/websocket?disruptionType=TRAIN_DELAY',
      });
      expect(alert.statusCode).toBe(200);
      const { payload } = alert.json<{ payload: { title: string; body: string } }>();
      expect(payload.title.length).toBeGreaterThan(0);
      expect(`${payload.title} ${payload.body}`).toContain('12951');
    });

    it('answers 404 naming an unknown event or channel, and 400 naming a malformed query parameter', async () => {
      const cases = [
        ['/templates/BOOKING_EXPLODED/email', 404, 'event'],
        ['/templates/BOOKING_CONFIRMED/pigeon', 404, 'channel'],
        ['/templates/BOOKING_CONFIRMED/sms?locale=english!', 400, 'locale'],
        ['/templates/BOOKING_CONFIRMED/sms?format=html', 400, 'format'],
        ['/templates/BOOKING_CONFIRMED/sms?disruptionType=TRAIN_DELAY', 400, 'disruptionType'],
      ] as const;
      for (const [url, status, field] of cases) {
        const response = await app.inject({ method: 'GET', url });
        expect(response.statusCode, url).toBe(status);
        const body = response.json<{ error: string; message: string; details: Array<{ path: string }> }>();
        expect(body.error, url).toBe(status === 404 ? 'not_found' : 'bad_request');
        expect(
          body.details.map((d) => d.path),
          url,
        ).toEqual([field]);
      }
      expect(
        (await app.inject({ method: 'GET', url: '/templates/BOOKING_EXPLODED/email' })).json<{ message: string }>()
          .message,
      ).toContain('BOOKING_EXPLODED');
    });
  });

  describe('GET /previews/*', () => {
    const userId = `preview-${randomBytes(3).toString('hex')}`;
    const email = uniqueEmail('preview');
    const phone = uniquePhone();
    const otherPhone = uniquePhone();

    beforeAll(async () => {
      await createPreferencesRepository({ pool, redis, cipher: fieldCipherOf(config) }).update(userId, {
        email,
        phone,
      });
      const mail = nodemailer.createTransport({ url: config.SMTP_URL });
      for (const subject of ['first for preview', 'second for preview']) {
        await mail.sendMail({ from: config.SMTP_FROM, to: email, subject, html: `<p>${subject}</p>`, text: subject });
      }
      await mail.sendMail({
        from: config.SMTP_FROM,
        to: uniqueEmail('someone-else'),
        subject: 'not theirs',
        text: 'not theirs',
      });
      mail.close();
      const twilio = createTwilioClient({
        accountSid: config.TWILIO_ACCOUNT_SID,
        authToken: config.TWILIO_AUTH_TOKEN,
        baseUrl: config.TWILIO_API_BASE_URL,
      });
      await twilio.messages.create({ to: phone, from: config.TWILIO_SMS_FROM, body: 'sms for preview' });
      await twilio.messages.create({
        to: `whatsapp:${phone}`,
        from: config.TWILIO_WHATSAPP_FROM,
        body: 'whatsapp for preview',
      });
      await twilio.messages.create({ to: otherPhone, from: config.TWILIO_SMS_FROM, body: 'not theirs' });
      for (const [user, title] of [
        [userId, 'alert one'],
        [userId, 'alert two'],
        ['someone-else', 'not theirs'],
      ] as const) {
        await pool.query('INSERT INTO inbox (user_id, event_id, event_type, payload) VALUES ($1, $2, $3, $4)', [
          user,
          randomUUID(),
          'TRAVEL_DISRUPTION',
          JSON.stringify({ title, body: `${title} body`, severity: 'warning' }),
        ]);
      }
    });

    it('shows a user’s emails from MailDev, newest first, found by userId or by part of the address', async () => {
      for (const user of [userId, email.split('@')[0]!]) {
        const response = await app.inject({ method: 'GET', url: `/previews/emails?user=${encodeURIComponent(user)}` });
        expect(response.statusCode).toBe(200);
        expect(response.headers['cache-control']).toBe('no-store');
        const body = response.json<{
          emails: Array<{ subject: string; html: string; to: Array<{ address: string }> }>;
        }>();
        expect(
          body.emails.map((e) => e.subject),
          user,
        ).toEqual(['second for preview', 'first for preview']);
        expect(body.emails[0]!.html).toContain('<p>second for preview</p>');
      }
      const limited = (await app.inject({ method: 'GET', url: `/previews/emails?user=${userId}&limit=1` })).json<{
        emails: unknown[];
      }>();
      expect(limited.emails).toHaveLength(1);
      expect((await app.inject({ method: 'GET', url: `/previews/emails?limit=0` })).statusCode).toBe(400);
    });

    it('shows a user’s SMS and WhatsApp threads from the sandbox, by the phone in the users table', async () => {
      const body = (await app.inject({ method: 'GET', url: `/previews/messages?user=${userId}` })).json<{
        phone: string;
        sms: Array<{ number: string; messages: Array<{ body: string }> }>;
        whatsapp: Array<{ number: string; messages: Array<{ body: string }> }>;
      }>();
      expect(body.phone).toBe(phone);
      expect(body.sms).toEqual([
        { number: phone, messages: [expect.objectContaining({ body: 'sms for preview', channel: 'sms' })] },
      ]);
      expect(body.whatsapp).toEqual([
        { number: phone, messages: [expect.objectContaining({ body: 'whatsapp for preview', channel: 'whatsapp' })] },
      ]);
      const everyone = (await app.inject({ method: 'GET', url: '/previews/messages' })).json<{
        sms: Array<{ number: string }>;
      }>();
      expect(everyone.sms.map((t) => t.number).sort()).toEqual([phone, otherPhone].sort());
    });

    it('shows a user’s alerts from the inbox, newest first, and no one else’s', async () => {
      const body = (await app.inject({ method: 'GET', url: `/previews/alerts?user=${userId}` })).json<{
        alerts: Array<{ title: string; userId: string; eventType: string }>;
      }>();
      expect(body.alerts.map((a) => a.title)).toEqual(['alert two', 'alert one']);
      expect(body.alerts.every((a) => a.userId === userId && a.eventType === 'TRAVEL_DISRUPTION')).toBe(true);
    });

    it('tells the page where MailDev is', async () => {
      const body = (await app.inject({ method: 'GET', url: '/previews/config' })).json<{ mailPreviewUrl: string }>();
      expect(body.mailPreviewUrl).toBe(config.MAIL_PREVIEW_URL.replace(/\/+$/, ''));
    });

    it('answers a part whose sandbox is down as unavailable, with the reason, and still serves the rest', async () => {
      const closed = Fastify();
      await closed.listen({ host: '127.0.0.1', port: 0 });
      const deadUrl = `http://127.0.0.1:${(closed.server.address() as { port: number }).port}`;
      await closed.close();
      const bare = Fastify();
      registerErrorHandling(bare);
      registerRouteSchemas(bare);
      await bare.register(previewsRoutes, {
        config: { NODE_ENV: 'test', MAIL_PREVIEW_URL: deadUrl, TWILIO_API_BASE_URL: deadUrl },
        pool,
        cipher: fieldCipherOf(config),
      });
      try {
        for (const url of ['/previews/emails', '/previews/messages']) {
          const response = await bare.inject({ method: 'GET', url: `${url}?user=${userId}` });
          expect(response.statusCode, url).toBe(200);
          expect(response.json(), url).toMatchObject({
            unavailable: true,
            reason: expect.stringContaining('unreachable'),
          });
        }
        const alerts = (await bare.inject({ method: 'GET', url: `/previews/alerts?user=${userId}` })).json<{
          alerts: unknown[];
        }>();
        expect(alerts.alerts).toHaveLength(2);
      } finally {
        await bare.close();
      }
    });

    it('does not exist in production, while template previews (sample data only) do', async () => {
      const production = Fastify();
      registerErrorHandling(production);
      registerRouteSchemas(production);
      await production.register(previewsRoutes, {
        config: {
          NODE_ENV: 'production',
          MAIL_PREVIEW_URL: config.MAIL_PREVIEW_URL,
          TWILIO_API_BASE_URL: config.TWILIO_API_BASE_URL,
        },
        pool,
        cipher: fieldCipherOf(config),
      });
      await production.register(templatesRoutes, { renderer: createTemplateRenderer() });
      try {
        expect((await production.inject({ method: 'GET', url: '/previews/emails' })).statusCode).toBe(404);
        expect((await production.inject({ method: 'GET', url: '/previews/config' })).statusCode).toBe(404);
        expect((await production.inject({ method: 'GET', url: '/templates' })).statusCode).toBe(200);
      } finally {
        await production.close();
      }
    });
  });
});
