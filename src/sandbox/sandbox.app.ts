import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { inboundRoutes } from './inbound.routes.js';
import type { Logger } from '../logger.js';
import { createFaults, type Faults } from './faults.js';
import { createLifecycle, DEFAULT_TIMING, type LifecycleTiming } from './lifecycle.js';
import { messagesRoutes } from './messages.routes.js';
import { API_VERSION } from './message.js';
import { previewRoutes } from './preview.page.js';
import { sandboxRoutes } from './sandbox.routes.js';
import { createMessageStore, type MessageStore } from './store.js';
import { registerTwilioErrorHandling } from './twilio-errors.js';

export interface SandboxOptions {
  /** The account the sandbox impersonates: requests must authenticate as it and address its path. */
  accountSid: string;
  authToken: string;
  logger: Logger;
  /** Where the sandbox can be reached, shown on the preview page as the base URL to give the SDK. */
  publicUrl?: string;
  /** When sent/delivered happen; tests may shorten or lengthen them. */
  timing?: Partial<LifecycleTiming>;
  /** Messages kept before the oldest are forgotten. */
  capacity?: number;
  /** Where replies from phones are posted (the gateway's `/webhooks/twilio/inbound`); none disables them. */
  inboundWebhookUrl?: string;
  /** The number replies are addressed to when a test does not say. */
  inboundTo?: string;
}

/** The app and the levers a test pulls directly, without going over HTTP. */
export interface SandboxHandle {
  app: FastifyInstance;
  store: MessageStore;
  faults: Faults;
}

/**
 * Builds the Twilio-compatible sandbox without listening: tests listen on port 0 (the SDK needs a real URL),
 * the sandbox role on SANDBOX_PORT. Closing the app cancels pending status callbacks.
 */
export async function buildSandboxApp(options: SandboxOptions): Promise<SandboxHandle> {
  checkOptions(options);
  const logger = options.logger.child({ component: 'twilio-sandbox' });
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  const store = createMessageStore({ capacity: options.capacity });
  const faults = createFaults();
  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());
  const timing = { ...DEFAULT_TIMING, ...options.timing };
  const lifecycle = createLifecycle({
    store,
    faults,
    authToken: options.authToken,
    logger,
    timing,
    signal: closing.signal,
  });

  registerTwilioErrorHandling(app);
  // The SDK posts forms; @fastify/formbody would do, but the whole of it is these three lines.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const { accountSid, authToken } = options;
  await app.register(messagesRoutes, {
    prefix: `/${API_VERSION}/Accounts/:AccountSid`,
    accountSid,
    authToken,
    store,
    faults,
    lifecycle,
    signal: closing.signal,
  });
  await app.register(sandboxRoutes, { store, faults });
  await app.register(inboundRoutes, {
    accountSid,
    authToken,
    webhookUrl: options.inboundWebhookUrl,
    defaultTo: options.inboundTo ?? '+15005550006',
  });
  await app.register(previewRoutes, { publicUrl: options.publicUrl });
  return { app, store, faults };
}

function checkOptions(options: SandboxOptions): void {
  const problems: string[] = [];
  if (!/^AC[0-9a-fA-F]{32}$/.test(options.accountSid ?? ''))
    problems.push('accountSid must be AC followed by 32 hex digits');
  if (!options.authToken) problems.push('authToken is required');
  if (!options.logger) problems.push('logger is required');
  if (problems.length > 0) throw new TypeError(`buildSandboxApp: ${problems.join('; ')}`);
}
