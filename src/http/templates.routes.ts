import type { FastifyInstance } from 'fastify';
import {
  CHANNELS,
  DISRUPTION_TYPES,
  EVENT_TYPES,
  TOPIC_BY_EVENT_TYPE,
  type Channel,
  type DisruptionType,
  type EventType,
} from '../events/index.js';
import type { TemplateRenderer } from '../templates/renderer.js';
import { sampleDisruption, sampleEvent, sampleRecipient } from '../templates/samples.js';
import { badRequest, notFound, type HttpError } from './errors.js';

export interface TemplatesRoutesOptions {
  /** Compiled once for the app: previews render exactly what the consumers send. */
  renderer: TemplateRenderer;
}

interface PreviewQuery {
  locale?: string;
  format?: string;
  minimal?: string;
  disruptionType?: string;
}

/** An email preview is a page of its own: nothing in it may run or load anything. */
const EMAIL_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

const LOCALE = /^[A-Za-z]{2}([-_][A-Za-z]{2})?$/;

/** `BOOKING_CONFIRMED` or its topic `booking-confirmed`, in any case; anything else is a 404 naming it. */
function eventTypeOf(value: string): EventType {
  const wanted = value.trim().toUpperCase().replaceAll('-', '_');
  const found = EVENT_TYPES.find((type) => type === wanted);
  if (!found) throw noTemplatesFor('event', value, EVENT_TYPES);
  return found;
}

function channelOf(value: string): Channel {
  const found = CHANNELS.find((channel) => channel === value.trim().toLowerCase());
  if (!found) throw noTemplatesFor('channel', value, CHANNELS);
  return found;
}

function noTemplatesFor(field: string, value: string, known: readonly string[]): HttpError {
  return notFound(`no templates for ${field} "${value}"`, {
    path: field,
    message: `must be one of ${known.join(', ')}`,
  });
}

function badQuery(field: string, message: string): HttpError {
  return badRequest(`invalid query parameter ${field}`, { path: field, message });
}

/** The sample event a preview renders: the full one, the minimal one, or a disruption of the kind asked for. */
function sampleFor(eventType: EventType, query: PreviewQuery) {
  const minimal = query.minimal === 'true' || query.minimal === '1';
  if (query.disruptionType === undefined) return sampleEvent(eventType, { minimal });
  if (eventType !== 'TRAVEL_DISRUPTION') throw badQuery('disruptionType', 'applies only to TRAVEL_DISRUPTION');
  if (!DISRUPTION_TYPES.includes(query.disruptionType as DisruptionType)) {
    throw badQuery('disruptionType', `must be one of ${DISRUPTION_TYPES.join(', ')}`);
  }
  return sampleDisruption(query.disruptionType as DisruptionType);
}

/**
 * Template previews with the sample events: `GET /templates` lists every template file, and
 * `GET /templates/:event/:channel?locale=` renders one as the channel would send it. Unknown event or channel → 404
 * naming it; a malformed query parameter → 400 naming it. Only sample data is shown, so this is safe in production.
 */
export async function templatesRoutes(app: FastifyInstance, { renderer }: TemplatesRoutesOptions): Promise<void> {
  app.get('/templates', async () =>
    renderer.list().map(({ eventType, topic, channel, locale, file }) => ({
      event: eventType,
      topic,
      channel,
      locale,
      file,
      url: `/templates/${eventType}/${channel}?locale=${locale}`,
    })),
  );

  app.get<{ Params: { event: string; channel: string }; Querystring: PreviewQuery }>(
    '/templates/:event/:channel',
    async (request, reply) => {
      const eventType = eventTypeOf(request.params.event);
      const channel = channelOf(request.params.channel);
      const { locale, format = channel === 'email' ? 'html' : 'json' } = request.query;
      if (locale !== undefined && !LOCALE.test(locale))
        throw badQuery('locale', 'must be a language tag such as en, hi or hi-IN');
      if (format !== 'json' && !(channel === 'email' && format === 'html')) {
        throw badQuery('format', channel === 'email' ? 'must be html or json' : 'must be json');
      }
      const rendered = renderer.render({
        eventType,
        channel,
        locale,
        event: sampleFor(eventType, request.query),
        recipient: sampleRecipient(),
      });
      const about = {
        event: eventType,
        topic: TOPIC_BY_EVENT_TYPE[eventType],
        channel,
        locale: rendered.locale,
        template: rendered.template,
      };
      reply
        .header('cache-control', 'no-cache')
        .header('x-template-file', rendered.template)
        .header('x-template-locale', rendered.locale);

      switch (channel) {
        case 'email':
          if (format === 'json')
            return { ...about, subject: rendered.subject, html: rendered.html, text: rendered.text };
          // Header values are Latin-1: a Hindi subject travels percent-encoded (RFC 8187 style), an English one as is.
          return reply
            .header('x-template-subject', headerSafe(rendered.subject ?? ''))
            .header('content-security-policy', EMAIL_CSP)
            .header('x-content-type-options', 'nosniff')
            .type('text/html; charset=utf-8')
            .send(rendered.html);
        case 'sms':
        case 'whatsapp':
          return { ...about, text: rendered.text, segments: rendered.segments };
        case 'websocket':
          return { ...about, payload: rendered.payload };
      }
    },
  );
}

/** A header value as is when it is printable ASCII, else `UTF-8''<percent-encoded>` (how RFC 8187 carries Unicode). */
export function headerSafe(value: string): string {
  return /^[\x20-\x7E]*$/.test(value) ? value : `UTF-8''${encodeURIComponent(value)}`;
}

/** Reads a subject back from `x-template-subject`. */
export function decodeHeaderSafe(value: string): string {
  return value.startsWith("UTF-8''") ? decodeURIComponent(value.slice(7)) : value;
}
