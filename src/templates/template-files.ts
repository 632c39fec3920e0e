import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type Handlebars from 'handlebars';
import {
  CHANNELS,
  EVENT_TYPES,
  TOPIC_BY_EVENT_TYPE,
  type Channel,
  type EventTopic,
  type EventType,
} from '../events/index.js';
import { TemplateError } from './template-error.js';

/** One template file of the folder, as found on disk. */
export interface TemplateSource {
  /** Relative to the templates folder, with `/`: `booking-confirmed/sms.en.hbs`. */
  file: string;
  eventType: EventType;
  topic: EventTopic;
  channel: Channel;
  locale: string;
  source: string;
}

export interface LayoutSource {
  file: string;
  locale: string;
  source: string;
}

const EVENT_TYPE_BY_TOPIC = new Map(EVENT_TYPES.map((type) => [TOPIC_BY_EVENT_TYPE[type], type] as const));
const LOCALE = '[a-z]{2}(?:-[A-Z]{2})?';
const TEMPLATE_NAME = new RegExp(`^(${CHANNELS.join('|')})\\.(${LOCALE})\\.hbs$`);
const LAYOUT_NAME = new RegExp(`^email\\.(${LOCALE})\\.hbs$`);

/**
 * Reads every template under `dir` once: `<topic>/<channel>.<locale>.hbs` and `layouts/email.<locale>.hbs`. A `.hbs`
 * file in a topic folder whose name does not fit is an error rather than silently ignored: `emial.en.hbs` would
 * otherwise only show up as a missing template when the first email is due.
 */
export function readTemplateFolder(dir: string): { templates: TemplateSource[]; layouts: LayoutSource[] } {
  const templates: TemplateSource[] = [];
  const layouts: LayoutSource[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const folder = join(dir, entry);
    if (!statSync(folder).isDirectory()) continue;
    const eventType = EVENT_TYPE_BY_TOPIC.get(entry as EventTopic);
    if (entry !== 'layouts' && !eventType) continue;
    for (const name of readdirSync(folder).sort()) {
      if (!name.endsWith('.hbs')) continue;
      const file = `${entry}/${name}`;
      const source = readFileSync(join(folder, name), 'utf8');
      const match = (eventType ? TEMPLATE_NAME : LAYOUT_NAME).exec(name);
      if (!match) {
        const expected = eventType ? `<${CHANNELS.join('|')}>.<locale>.hbs` : 'email.<locale>.hbs';
        throw new TemplateError(`file name does not match ${expected}`, file);
      }
      if (eventType) {
        const topic = entry as EventTopic;
        templates.push({ file, eventType, topic, channel: match[1] as Channel, locale: match[2]!, source });
      } else {
        layouts.push({ file, locale: match[1]!, source });
      }
    }
  }
  return { templates, layouts };
}

export interface EmailSections {
  subject?: string;
  html: string;
  text: string;
}

const SECTION_MARKER = /^\{\{!--\s*(html|text)\s*--\}\}[ \t]*\r?$/gm;

/**
 * Splits an email file into its subject line and its `{{!-- html --}}` and `{{!-- text --}}` sections. The markers
 * are Handlebars comments, so the whole file still reads (and highlights) as one template.
 */
export function splitEmail(file: string, source: string, { withSubject }: { withSubject: boolean }): EmailSections {
  let rest = source.replace(/^\uFEFF/, '');
  let subject: string | undefined;
  if (withSubject) {
    const firstLine = /^Subject:[ \t]*(.*)\r?\n/.exec(rest);
    if (!firstLine || !firstLine[1]?.trim()) throw new TemplateError('the first line must be "Subject: …"', file);
    subject = firstLine[1].trim();
    rest = rest.slice(firstLine[0].length);
  }
  const sections: Partial<Record<'html' | 'text', string>> = {};
  const markers = [...rest.matchAll(SECTION_MARKER)];
  if (rest.slice(0, markers[0]?.index ?? rest.length).trim()) {
    throw new TemplateError('text before the first {{!-- html --}} / {{!-- text --}} section', file);
  }
  markers.forEach((marker, i) => {
    const kind = marker[1] as 'html' | 'text';
    if (sections[kind] !== undefined) throw new TemplateError(`two {{!-- ${kind} --}} sections`, file);
    const start = marker.index + marker[0].length;
    sections[kind] = rest.slice(start, markers[i + 1]?.index ?? rest.length);
  });
  if (sections.html === undefined || sections.text === undefined) {
    throw new TemplateError('an email needs both a {{!-- html --}} and a {{!-- text --}} section', file);
  }
  return { subject, html: sections.html, text: sections.text };
}

export interface LintRules {
  helpers: ReadonlySet<string>;
  /** Email HTML: `{{{ }}}` and `{{& }}` would let event data through unescaped. */
  forbidUnescaped?: boolean;
  /** Websocket: every `{{value}}` outside a `{{#json}}` block must be `{{json value}}`, or the JSON may break. */
  requireJson?: boolean;
}

type Program = ReturnType<typeof Handlebars.parse>;
type Node = Record<string, unknown> & { type: string };

/** Checks a parsed template at start-up for what Handlebars would only report, if at all, at the first render. */
export function lintTemplate(file: string, ast: Program, rules: LintRules): void {
  const visit = (node: Node | undefined, insideJson: boolean): void => {
    if (!node || typeof node !== 'object') return;
    const line = (node.loc as { start?: { line: number } } | undefined)?.start?.line;
    const where = line ? ` (line ${line})` : '';
    const path = node.path as Node | undefined;
    const name = path && path.type === 'PathExpression' ? String(path.original) : undefined;
    const params = (node.params as Node[] | undefined) ?? [];
    const pairs = ((node.hash as Node | undefined)?.pairs as Node[] | undefined) ?? [];
    const isCall = ['MustacheStatement', 'SubExpression', 'BlockStatement'].includes(node.type);
    if (isCall && name && (params.length > 0 || pairs.length > 0) && !rules.helpers.has(name)) {
      throw new TemplateError(`unknown helper "${name}"${where}`, file, name);
    }
    if (node.type === 'MustacheStatement') {
      if (rules.forbidUnescaped && node.escaped === false) {
        throw new TemplateError(
          `{{{${name ?? '…'}}}} would skip HTML escaping${where}; use {{${name ?? '…'}}}`,
          file,
          name,
        );
      }
      if (rules.requireJson && !insideJson && name !== 'json') {
        throw new TemplateError(`websocket values must be written as {{json ${name ?? '…'}}}${where}`, file, name);
      }
    }
    const nowInsideJson = insideJson || (node.type === 'BlockStatement' && name === 'json');
    for (const child of [...params, ...pairs.map((pair) => pair.value as Node)]) visit(child, insideJson);
    for (const key of ['program', 'inverse'] as const) visit(node[key] as Node | undefined, nowInsideJson);
    for (const child of (node.body as Node[] | undefined) ?? []) visit(child, insideJson);
  };
  visit(ast as unknown as Node, false);
}

/** What the renderer adds to the event for one person: a template that reads none of it reads the same for all. */
const PERSONAL_FIELDS = new Set(['recipient', 'name']);

/**
 * Whether a parsed template can write anything that differs between two recipients of one event: it names the
 * recipient or their name (also through `@root`), hands the whole context on (`this`), or includes a partial, whose
 * content is not looked at here. Helpers read the event and the locale only (helpers.ts).
 */
export function readsRecipient(ast: Program): boolean {
  const reads = (node: unknown): boolean => {
    if (!node || typeof node !== 'object') return false;
    if (Array.isArray(node)) return node.some(reads);
    const n = node as Node;
    if (n.type === 'PartialStatement' || n.type === 'PartialBlockStatement') return true;
    if (n.type === 'PathExpression') {
      const parts = (n.parts as string[] | undefined) ?? [];
      const head = n.data === true && parts[0] === 'root' ? parts[1] : parts[0];
      return head === undefined || PERSONAL_FIELDS.has(head);
    }
    return Object.entries(n).some(([key, child]) => key !== 'loc' && reads(child));
  };
  return reads(ast);
}
