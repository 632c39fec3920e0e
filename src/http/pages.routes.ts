import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';

export interface PagesRoutesOptions {
  /** File names in src/http/pages/, each served at `/<name>`: `['alerts.html', 'previews.html']`. */
  pages: readonly string[];
}

const PAGES_DIR = new URL('./pages/', import.meta.url);

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

/** A plain file name with a known extension: no directories, so a page list cannot reach outside pages/. */
function contentTypeOf(name: string): string {
  const extension = /^[a-zA-Z0-9][a-zA-Z0-9._-]*(\.[a-z]+)$/.exec(name)?.[1];
  const type = extension === undefined ? undefined : CONTENT_TYPES[extension];
  if (type === undefined) throw new Error(`pages: "${name}" is not a servable page name`);
  return type;
}

/**
 * Serves the self-contained pages (CSS and JS inline or beside them in pages/, no CDN) by name. Each file is read
 * once, here: a missing page fails the start rather than the first visitor.
 */
export async function pagesRoutes(app: FastifyInstance, options: PagesRoutesOptions): Promise<void> {
  for (const name of options.pages) {
    const contentType = contentTypeOf(name);
    const content = await readFile(new URL(name, PAGES_DIR));
    app.get(`/${name}`, async (_request, reply) =>
      reply
        .header('content-type', contentType)
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .send(content),
    );
  }
}
