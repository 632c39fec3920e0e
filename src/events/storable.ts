import type { z } from 'zod';

/**
 * Deepest nesting an event may have. The known fields are at most two levels deep (`payload.minutes`); unknown fields
 * travel through untouched, so without a bound a 64 KiB body of `[[[[…]]]]` would be walked (and later stored) whole.
 */
export const MAX_EVENT_DEPTH = 8;

/** In `u` mode a well-formed pair is one code point, so only a surrogate standing alone matches. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Why PostgreSQL would refuse a string, if it would: it stores no NUL in text or jsonb, and no half of a surrogate
 * pair (a lone `\ud800` is not UTF-8 at all). Refused at the schema so that HTTP and Kafka-side parsing agree.
 */
export function unstorableReason(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain the NUL character (\\u0000)';
  if (LONE_SURROGATE.test(text)) return 'must be valid Unicode (it contains an unpaired UTF-16 surrogate)';
  return undefined;
}

/**
 * Adds an issue for every string (value or key) in `value` that the database cannot store, and for nesting past
 * MAX_EVENT_DEPTH, each at its own path. Walks only as deep as the bound, so it never overflows the stack.
 */
export function checkStorable(value: unknown, ctx: z.RefinementCtx, path: PropertyKey[] = [], depth = 0): void {
  if (typeof value === 'string') {
    const reason = unstorableReason(value);
    if (reason) ctx.addIssue({ code: 'custom', path, message: reason });
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  if (depth >= MAX_EVENT_DEPTH) {
    ctx.addIssue({ code: 'custom', path, message: `nested too deeply (at most ${MAX_EVENT_DEPTH} levels)` });
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    const keyReason = unstorableReason(key);
    if (keyReason) ctx.addIssue({ code: 'custom', path, message: `a field name ${keyReason}` });
    else checkStorable(child, ctx, [...path, Array.isArray(value) ? Number(key) : key], depth + 1);
  }
}
