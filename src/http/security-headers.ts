import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

const PAGES_DIR = new URL('./pages/', import.meta.url);
const INLINE_SCRIPT = /<script>([\s\S]*?)<\/script>/g;

/**
 * The pages keep their scripts inline (one self-contained file each), so the policy names those exact scripts by
 * hash instead of allowing 'unsafe-inline': an injected script, even one that gets past escaping, does not run.
 */
export function inlineScriptHashes(pages: readonly string[]): string[] {
  return pages
    .filter((name) => name.endsWith('.html'))
    .flatMap((name) => [...readFileSync(new URL(name, PAGES_DIR), 'utf8').matchAll(INLINE_SCRIPT)])
    .map(([, body]) => `'sha256-${createHash('sha256').update(body!).digest('base64')}'`);
}

/**
 * Helmet's headers on every HTTP answer (nosniff, frame-ancestors, referrer policy, HSTS …) and a content security
 * policy that lets the pages load only from this origin. `upgrade-insecure-requests` is left out: the api is often
 * reached over plain HTTP (the local stack, behind a TLS proxy), where it would break the pages' own requests.
 */
export async function registerSecurityHeaders(
  app: FastifyInstance,
  { pages }: { pages: readonly string[] },
): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        scriptSrc: ["'self'", ...inlineScriptHashes(pages)],
        // The previews page shows each email in a sandboxed srcdoc frame; images in it may come from anywhere.
        imgSrc: ["'self'", 'data:', 'https:'],
        upgradeInsecureRequests: null,
      },
    },
  });
}
