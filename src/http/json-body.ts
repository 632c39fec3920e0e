import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { badRequest } from './errors.js';

/**
 * Parses JSON bodies as Fastify does (secure-json-parse, refusing `__proto__` and `constructor.prototype`), but says
 * why a body was refused: Fastify's own parser answers only "not valid JSON", hiding a prototype-pollution attempt
 * or where the syntax broke.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim().length === 0)
      return done(refused('must not be empty when content-type is application/json'), undefined);
    try {
      done(null, secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }));
    } catch (error) {
      done(refused((error as Error).message), undefined);
    }
  });
}

const refused = (reason: string) => badRequest('the body is not valid JSON', { path: 'body', message: reason });
