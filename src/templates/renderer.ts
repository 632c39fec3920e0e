/**
 * The template layer: one Handlebars file per event, channel and locale, compiled once when the renderer is created.
 *
 * Folder layout (relative to `dir`, by default this folder):
 *
 *     <topic>/<channel>.<locale>.hbs     booking-confirmed/sms.en.hbs, travel-disruption/email.hi.hbs, …
 *     layouts/email.<locale>.hbs         the frame around every email, HTML and text
 *
 * Email files hold the subject and both parts. The first line is the subject; the rest is split into sections by
 * marker lines that are themselves Handlebars comments:
 *
 *     Subject: Booking confirmed · PNR {{pnrNumber}}
 *     {{!-- html --}}
 *     <p>Hello {{name}}, …</p>
 *     {{!-- text --}}
 *     Hello {{name}}, …
 *
 * The html section is HTML-escaped (`{{ }}`; `{{{ }}}` is refused at start-up) and placed in the layout's html
 * section as `{{body}}`; the text section and the subject are not escaped (they are not HTML) and the text goes into
 * the layout's text section. SMS and WhatsApp templates are plain text: SMS whitespace is collapsed to single spaces,
 * so an SMS template may be spread over lines. Websocket templates write a JSON object with at least `title` and
 * `body`: every value goes through `{{json x}}`, or `{{#json}}…{{/json}}` for a sentence (checked at start-up), and
 * the output is parsed, so a template that produces broken JSON fails as a TemplateError rather than a broken alert.
 *
 * Templates see the event's fields at the top level (`{{pnrNumber}}`, `{{payload.minutes}}`), plus `recipient`,
 * `name` (recipient.name, else the event's userName) and `locale`; helpers are listed in helpers.ts. Optional fields
 * belong in `{{#if}}` (with `includeZero=true` for amounts that may be 0). Locales: the requested one (`hi-IN`), its
 * language (`hi`), then `en`; `Rendered.locale` and `Rendered.template` say which file was used.
 */
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { TOPIC_BY_EVENT_TYPE, type Channel, type EventTopic, type EventType } from '../events/index.js';
import { countSegments, type SegmentCount } from './segments.js';
import { registerHelpers } from './helpers.js';
import { lintTemplate, readsRecipient, readTemplateFolder, splitEmail, type LintRules } from './template-files.js';
import { HelperInputError, TemplateError } from './template-error.js';

/** Who the message is for; name, email and phone come from the user's preferences where the event lacks them. */
export interface Recipient {
  userId: string;
  name?: string;
  email?: string;
  phone?: string;
}

export interface RenderInput {
  eventType: EventType;
  channel: Channel;
  /** BCP 47 tag such as `hi`, `hi-IN` or `en`; anything without a template falls back to `en`. */
  locale?: string;
  /** The event as it travels on Kafka (a GatewayEvent); extra fields are visible to templates too. */
  event: Readonly<Record<string, unknown>>;
  recipient: Recipient;
}

export interface Rendered {
  subject?: string;
  html?: string;
  /** The message text: the SMS or WhatsApp body, the email's text part, the websocket alert's body. */
  text: string;
  /** The websocket's JSON object. */
  payload?: Record<string, unknown>;
  /** The locale of the template actually used. */
  locale: string;
  /** The template file used, relative to the templates folder. */
  template: string;
  /** SMS and WhatsApp: what the text costs in SMS parts. */
  segments?: SegmentCount;
}

export interface TemplateInfo {
  eventType: EventType;
  topic: EventTopic;
  channel: Channel;
  locale: string;
  file: string;
}

export interface TemplateRenderer {
  render(input: RenderInput): Rendered;
  list(): TemplateInfo[];
}

type Delegate = Handlebars.TemplateDelegate;
interface Compiled {
  info: TemplateInfo;
  /** Reads the recipient (see readsRecipient): otherwise one render serves every recipient of an event. */
  personal: boolean;
  /** Email: subject, html, text. Other channels: body only. */
  subject?: Delegate;
  html?: Delegate;
  body: Delegate;
}
interface Layout {
  file: string;
  html: Delegate;
  text: Delegate;
}

const DEFAULT_DIR = fileURLToPath(new URL('.', import.meta.url));
const FALLBACK_LOCALE = 'en';

/** Reads and compiles every template under `dir` now; a broken one fails here, naming the file. */
export function createTemplateRenderer({ dir = DEFAULT_DIR }: { dir?: string } = {}): TemplateRenderer {
  const env = Handlebars.create();
  registerHelpers(env);
  const helpers = new Set(Object.keys(env.helpers));
  const compile = (file: string, source: string, rules: Omit<LintRules, 'helpers'>, escape: boolean): Delegate => {
    let ast: ReturnType<typeof env.parse>;
    try {
      ast = env.parse(source);
    } catch (error) {
      throw new TemplateError(`does not parse: ${(error as Error).message}`, file, undefined, { cause: error });
    }
    lintTemplate(file, ast, { ...rules, helpers });
    try {
      return compileNow(env, ast, escape);
    } catch (error) {
      throw new TemplateError(`does not compile: ${(error as Error).message}`, file, undefined, { cause: error });
    }
  };

  // Called after compile has parsed the same source without error.
  const personal = (...sources: string[]) => sources.some((source) => readsRecipient(env.parse(source)));

  const { templates, layouts: layoutSources } = readTemplateFolder(dir);
  const compiled = new Map<string, Compiled>();
  for (const t of templates) {
    const info: TemplateInfo = {
      eventType: t.eventType,
      topic: t.topic,
      channel: t.channel,
      locale: t.locale,
      file: t.file,
    };
    if (t.channel === 'email') {
      const parts = splitEmail(t.file, t.source, { withSubject: true });
      compiled.set(key(t.topic, t.channel, t.locale), {
        info,
        subject: compile(t.file, parts.subject ?? '', {}, false),
        html: compile(t.file, parts.html, { forbidUnescaped: true }, true),
        body: compile(t.file, parts.text, {}, false),
        personal: personal(parts.subject ?? '', parts.html, parts.text),
      });
    } else {
      const rules = t.channel === 'websocket' ? { requireJson: true } : {};
      compiled.set(key(t.topic, t.channel, t.locale), {
        info,
        body: compile(t.file, t.source, rules, false),
        personal: personal(t.source),
      });
    }
  }
  const layouts = new Map<string, Layout>();
  for (const l of layoutSources) {
    const parts = splitEmail(l.file, l.source, { withSubject: false });
    layouts.set(l.locale, {
      file: l.file,
      html: compile(l.file, parts.html, { forbidUnescaped: true }, true),
      text: compile(l.file, parts.text, {}, false),
    });
  }
  if (templates.some((t) => t.channel === 'email') && !layouts.has(FALLBACK_LOCALE)) {
    throw new TemplateError('missing: every email is framed by this layout', `layouts/email.${FALLBACK_LOCALE}.hbs`);
  }

  const list = [...compiled.values()].map((c) => c.info);
  // A disruption's thousands of recipients share one event object: a template that reads nothing of the recipient is
  // rendered once per event and file (so once per locale), and the rest are handed the same result. Kept only as long
  // as the event object itself.
  const shared = new WeakMap<object, Map<string, Rendered>>();
  return {
    list: () => list.map((info) => ({ ...info })),
    render(input) {
      const template = pick(input, compiled);
      if (template.personal) return render(input, template, layouts);
      let byFile = shared.get(input.event);
      if (!byFile) shared.set(input.event, (byFile = new Map()));
      const done = byFile.get(template.info.file);
      if (done) return done;
      const rendered = render(input, template, layouts);
      byFile.set(template.info.file, rendered);
      return rendered;
    },
  };
}

/** The compiler classes Handlebars exposes on every environment, though its typings leave them out. */
interface HandlebarsCompilers {
  Compiler: new () => { compile(ast: unknown, options: object): unknown };
  JavaScriptCompiler: new () => { compile(env: unknown, options: object, context: undefined, asObject: true): unknown };
  template(spec: unknown): Delegate;
}

/**
 * What `Handlebars.compile` does, but now: its result compiles on the first render, which would put the cost and any
 * compiler error on the first message instead of start-up. `trackIds` (also missing from the typings) hands helpers
 * their parameters as written, so that their errors can name the variable.
 */
function compileNow(env: typeof Handlebars, ast: ReturnType<typeof Handlebars.parse>, escape: boolean): Delegate {
  const handlebars = env as unknown as HandlebarsCompilers;
  const options = { data: true, trackIds: true, noEscape: !escape };
  const environment = new handlebars.Compiler().compile(ast, options);
  return handlebars.template(new handlebars.JavaScriptCompiler().compile(environment, options, undefined, true));
}

function key(topic: string, channel: string, locale: string): string {
  return `${topic}/${channel}.${locale}`;
}

/** `hi-in` → [`hi-IN`, `hi`, `en`]: the exact tag, its language, then English. */
export function localeCandidates(requested: string | undefined): string[] {
  const [language = '', region] = (requested ?? '').trim().replace(/_/g, '-').split('-');
  const lang = language.toLowerCase();
  const candidates = [region ? `${lang}-${region.toUpperCase()}` : '', lang, FALLBACK_LOCALE];
  return [...new Set(candidates.filter((c) => /^[a-z]{2}(-[A-Z]{2})?$/.test(c)))];
}

/** The template for the event, channel and locale: the exact locale, its language, then English. */
function pick(input: RenderInput, compiled: Map<string, Compiled>): Compiled {
  const topic = Object.hasOwn(TOPIC_BY_EVENT_TYPE, input.eventType) ? TOPIC_BY_EVENT_TYPE[input.eventType] : undefined;
  const wanted = `${topic ?? input.eventType}/${input.channel}.<${localeCandidates(input.locale).join('|')}>.hbs`;
  if (!topic) throw new TemplateError(`unknown event type "${input.eventType}"`, wanted, 'eventType');
  const template = localeCandidates(input.locale)
    .map((locale) => compiled.get(key(topic, input.channel, locale)))
    .find((found) => found !== undefined);
  if (!template) throw new TemplateError(`no template for channel "${input.channel}", not even in English`, wanted);
  return template;
}

function render(input: RenderInput, template: Compiled, layouts: Map<string, Layout>): Rendered {
  const { file, locale } = template.info;
  const name = input.recipient.name ?? input.event.userName;
  const context = { ...input.event, recipient: input.recipient, name, locale };
  const run = (fn: Delegate, ctx: unknown, runFile = file) => runTemplate(runFile, fn, ctx, locale);
  const base = { locale, template: file };

  switch (input.channel) {
    case 'email': {
      const layout = layouts.get(locale) ?? layouts.get(FALLBACK_LOCALE)!;
      const subject = run(template.subject!, context).replace(/\s+/g, ' ').trim();
      const htmlBody = new Handlebars.SafeString(run(template.html!, context).trim());
      const textBody = tidy(run(template.body, context));
      const html = run(layout.html, { subject, body: htmlBody, locale }, layout.file).trim();
      const text = tidy(run(layout.text, { subject, body: textBody, locale }, layout.file));
      return { ...base, subject, html, text };
    }
    case 'sms':
    case 'whatsapp': {
      const output = run(template.body, context);
      const text = input.channel === 'sms' ? output.replace(/\s+/g, ' ').trim() : tidy(output);
      return { ...base, text, segments: countSegments(text) };
    }
    case 'websocket': {
      const payload = parseAlert(file, run(template.body, context));
      return { ...base, text: payload.body, payload };
    }
  }
}

/** Runs one compiled template; whatever goes wrong becomes a TemplateError naming the file and, if known, the variable. */
function runTemplate(file: string, fn: Delegate, context: unknown, locale: string): string {
  try {
    return fn(context, { data: { locale } });
  } catch (error) {
    if (error instanceof TemplateError) throw error;
    if (error instanceof HelperInputError)
      throw new TemplateError(error.message, file, error.variable, { cause: error });
    const message = error instanceof Error ? error.message : String(error);
    const variable =
      /^Missing helper: "([^"]+)"/.exec(message)?.[1] ??
      /^The partial (\S+) could not be found/.exec(message)?.[1] ??
      /^"([^"]+)" not defined in/.exec(message)?.[1];
    throw new TemplateError(`rendering failed: ${message}`, file, variable, { cause: error });
  }
}

function parseAlert(file: string, output: string): Record<string, unknown> & { title: string; body: string } {
  let payload: unknown;
  try {
    payload = JSON.parse(output);
  } catch (error) {
    throw new TemplateError(`websocket output is not valid JSON: ${(error as Error).message}`, file, undefined, {
      cause: error,
    });
  }
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new TemplateError('websocket output must be a JSON object', file);
  }
  const alert = payload as Record<string, unknown>;
  for (const field of ['title', 'body'] as const) {
    if (typeof alert[field] !== 'string' || !alert[field]) {
      throw new TemplateError(`websocket output needs a non-empty string "${field}"`, file, field);
    }
  }
  return alert as Record<string, unknown> & { title: string; body: string };
}

/** Plain text as people write it: no trailing spaces, at most one blank line in a row, no blank start or end. */
function tidy(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => line.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
