/**
 * Keyset paging, newest first: a page ends at an id, and the next one starts below it. The cursor handed to clients
 * is that id, base64url-encoded: opaque, so they pass it back rather than build one.
 */
export const encodeCursor = (id: number): string => Buffer.from(String(id), 'utf8').toString('base64url');

/** The id a cursor names, or undefined when it is not one this API handed out. */
export function decodeCursor(cursor: string): number | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[1-9]\d{0,15}$/.test(text)) return undefined;
  const id = Number(text);
  return Number.isSafeInteger(id) ? id : undefined;
}

/** A page of `limit` from rows read with `limit + 1`: the extra row only says that another page follows. */
export function pageOf<T extends { id: number }>(rows: T[], limit: number): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1]!.id) : null };
}
