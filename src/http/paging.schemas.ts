import { z } from 'zod';
import { decodeCursor } from '../store/cursor.js';
import { refusing } from './route-schemas.js';

/** One of a fixed list, refused with the list: `must be one of email, sms, whatsapp, websocket`. */
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });

/** A query-string integer ("50"), within bounds. */
export const intString = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, `must be an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, `must be an integer from ${min} to ${max}`)
        .max(max, `must be an integer from ${min} to ${max}`),
    );

/** `?cursor=` as a page's `nextCursor` gave it, read back into the id the page ended at. */
export const cursorParam = z
  .string()
  .transform((value, ctx) => {
    const id = decodeCursor(value);
    if (id === undefined) ctx.addIssue({ code: 'custom', message: 'not a cursor this API handed out' });
    return id ?? 0;
  })
  .describe("the previous page's nextCursor");

/** `/:id` of a row kept in a bigserial (a re-drive, a webhook): refused as `invalid <thing> id`. */
export const idParamsOf = (thing: string) =>
  refusing(
    z.object({
      id: z
        .string()
        .regex(/^[1-9]\d{0,15}$/, `must be a ${thing} id`)
        .transform(Number),
    }),
    { message: `invalid ${thing} id` },
  );
