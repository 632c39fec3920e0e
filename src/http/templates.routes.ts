import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  CHANNELS,
  DISRUPTION_TYPES,
  EVENT_TYPES,
  TOPIC_BY_EVENT_TYPE,
  type Channel,
  type EventType,
} from '../events/index.js';
import type { TemplateRenderer } from '../templates/renderer.js';
import { sampleDisruption, sampleEvent, sampleRecipient } from '../templates/samples.js';
import { badRequest, notFound, type HttpError } from './errors.js';
import { invalidQueryParameter, refusing } from './route-schemas.js';

export interface TemplatesRoutesOptions {
  /** Compiled once for the app: previews render exactly what the consumers send. */
  renderer: TemplateRenderer;
}

/** An email preview is a page of its own: nothing in it may run or load anything. */
const EMAIL_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

const templateParams = z.object({
  event: z.string().describe('an event type (BOOKING_CONFIRMED) or its topic (booking-confirmed), in any case'),
  channel: z.string().describe('email, sms, whatsapp or websocket'),
});

/** What may be asked of one preview; the rules that depend on the event or channel are checked by the route. */
const templateQuery = refusing(
  z.object({
    locale: z
      .string()
      .regex(/^[A-Za-z]{2}([-_][A-Za-z]{2})?$/, 'must be a language tag such as en, hi or hi-IN')
      .optional(),
    format: z.enum(['html', 'json'], { error: 'must be html or json' }).optional(),
    minimal: z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).optional(),
    disruptionType: z.enum(DISRUPTION_TYPES, { error: `must be one of ${DISRUPTION_TYPES.join(', ')}` }).optional(),
  }),
  { message: invalidQueryParameter },
);
type TemplateQuery = z.output<typeof templateQuery>;

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
function sampleFor(eventType: EventType, query: TemplateQuery) {
  const minimal = query.minimal === 'true' || query.minimal === '1';
  if (query.disruptionType === undefined) return sampleEvent(eventType, { minimal });
  if (eventType !== 'TRAVEL_DISRUPTION') throw badQuery('disruptionType', 'applies only to TRAVEL_DISRUPTION');
  return sampleDisruption(query.disruptionType);
}

/**
 * Template previews with the sample events: `GET /templates` lists every template file, and
 * `GET /templates/:event/:channel?locale=` renders one as the channel would send it. Unknown event or channel → 404
 * naming it; a malformed query parameter → 400 naming it. Only sample data is shown, so this is safe in production.
 */
export async function templatesRoutes(app: FastifyInstance, { renderer }: TemplatesRoutesOptions): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  routes.get('/templates', async () =>
    renderer.list().map(({ eventType, topic, channel, locale, file }) => ({
      event: eventType,
      topic,
      channel,
      locale,
      file,
      url: `/templates/${eventType}/${channel}?locale=${locale}`,
    })),
  );

  routes.get(
    '/templates/:event/:channel',
    { schema: { params: templateParams, querystring: templateQuery } },
    async (request, reply) => {
      const eventType = eventTypeOf(request.params.event);
      const channel = channelOf(request.params.channel);
      const { locale, format = channel === 'email' ? 'html' : 'json' } = request.query;
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
