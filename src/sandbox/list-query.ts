import type { SandboxMessage } from './message.js';
import { TwilioApiError } from './twilio-errors.js';

/**
 * The query of `GET …/Messages.json`, with Twilio's names and meanings: To and From match exactly, `DateSent` is a
 * day (UTC), `DateSent<` and `DateSent>` bound it (the SDK's dateSentBefore / dateSentAfter), and pages are numbered
 * from 0 with `PageSize` (default 50, at most 1000) records each.
 */
export interface ListQuery {
  match: (message: SandboxMessage) => boolean;
  page: number;
  pageSize: number;
  /** The filters again, in the form Twilio echoes them in `uri`, `first_page_uri` and `next_page_uri`. */
  filters: Record<string, string>;
}

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;
const FILTER_NAMES = ['To', 'From', 'DateSent', 'DateSent<', 'DateSent>'] as const;

export function parseListQuery(query: Record<string, string | string[] | undefined>): ListQuery {
  const value = (name: string) => {
    const raw = query[name];
    return Array.isArray(raw) ? raw[0] : raw;
  };
  const filters: Record<string, string> = {};
  for (const name of FILTER_NAMES) {
    const given = value(name);
    if (given !== undefined && given !== '') filters[name] = given;
  }
  const pageSize = Math.min(positiveInt(value('PageSize'), 'PageSize') ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  const page = positiveInt(value('Page'), 'Page', 0) ?? 0;
  return { match: matcher(filters), page, pageSize, filters };
}

function matcher(filters: Record<string, string>): (message: SandboxMessage) => boolean {
  const day = filters.DateSent !== undefined ? dayOf(parseDate(filters.DateSent, 'DateSent')) : undefined;
  const before = filters['DateSent<'] !== undefined ? endBound(filters['DateSent<']) : undefined;
  const after = filters['DateSent>'] !== undefined ? parseDate(filters['DateSent>'], 'DateSent>') : undefined;
  return (message) => {
    if (filters.To !== undefined && message.to !== filters.To) return false;
    if (filters.From !== undefined && message.from !== filters.From) return false;
    if (day === undefined && before === undefined && after === undefined) return true;
    // A message still queued has no date sent, so no date filter can select it (as on Twilio).
    const sent = message.dateSent;
    if (!sent) return false;
    if (day !== undefined && dayOf(sent) !== day) return false;
    if (before !== undefined && sent.getTime() >= before.getTime()) return false;
    return after === undefined || sent.getTime() >= after.getTime();
  };
}

/** "Before 2024-05-01" includes that whole day when only a day is given. */
function endBound(raw: string): Date {
  const date = parseDate(raw, 'DateSent<');
  return /^\d{4}-\d{2}-\d{2}$/.test(raw) ? new Date(date.getTime() + 24 * 3600 * 1000) : date;
}

function parseDate(raw: string, name: string): Date {
  const date = new Date(raw);
  if (Number.isNaN(date.getTime())) throw new TwilioApiError(400, 20001, `Invalid value for ${name}: ${raw}`);
  return date;
}

function dayOf(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function positiveInt(raw: string | undefined, name: string, min = 1): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const parsed = Number(raw);
  if (!Number.isInteger(parsed) || parsed < min)
    throw new TwilioApiError(400, 20001, `Invalid value for ${name}: ${raw}`);
  return parsed;
}

/** Twilio's paging envelope around one page of `records`, already filtered and newest first. */
export function listPage<T extends { sid: string }>(listPath: string, query: ListQuery, records: T[]) {
  const start = query.page * query.pageSize;
  const items = records.slice(start, start + query.pageSize);
  const pageUri = (page: number, token?: string) => {
    const params = new URLSearchParams({ ...query.filters, PageSize: String(query.pageSize), Page: String(page) });
    if (token) params.set('PageToken', token);
    return `${listPath}?${params.toString()}`;
  };
  const last = items.at(-1);
  const hasMore = start + items.length < records.length;
  return {
    first_page_uri: pageUri(0),
    end: Math.max(start, start + items.length - 1),
    previous_page_uri: query.page > 0 ? pageUri(query.page - 1) : null,
    uri: pageUri(query.page),
    page_size: query.pageSize,
    start,
    // Twilio's next page carries a token naming the last record seen; the sandbox pages by number, but keeps the form.
    next_page_uri: hasMore && last ? pageUri(query.page + 1, `PA${last.sid}`) : null,
    page: query.page,
    items,
  };
}
