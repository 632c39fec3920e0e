/**
 * PostgreSQL stores no NUL in text or jsonb and no half of a surrogate pair. Events are refused at the schema for
 * either; what is written about a record that was refused (a dead letter of a poison record: its key, its text, the
 * error) must still go in, so those characters become U+FFFD there, as a decoder would show them.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function storableText(text: string): string;
export function storableText(text: string | null | undefined): string | null;
export function storableText(text: string | null | undefined): string | null {
  return text === null || text === undefined ? null : text.replace(UNSTORABLE, '\ufffd');
}

/** A JSON value with every string and key storable (see above), for a jsonb column. */
export function storableJson(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(storableJson);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [storableText(key), storableJson(child)]));
  }
  return value;
}
