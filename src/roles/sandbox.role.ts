import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Role } from './role.js';
import { buildSandboxApp } from '../sandbox/sandbox.app.js';

/** The Twilio-compatible sandbox: point TWILIO_API_BASE_URL at it and SMS/WhatsApp go nowhere but its preview. */
export async function startSandbox(config: Config, logger: Logger): Promise<Role> {
  const publicUrl = `http://${displayHost(config.HOST)}:${config.SANDBOX_PORT}`;
  const { app } = await buildSandboxApp({
    accountSid: config.TWILIO_ACCOUNT_SID,
    authToken: config.TWILIO_AUTH_TOKEN,
    logger,
    publicUrl,
    inboundWebhookUrl: `${config.PUBLIC_URL}/webhooks/twilio/inbound`,
    inboundTo: config.TWILIO_SMS_FROM,
  });
  const address = await app.listen({ host: config.HOST, port: config.SANDBOX_PORT });
  return {
    name: 'sandbox',
    urls: { sandbox: address },
    stop: () => app.close(),
  };
}

/** A wildcard bind address is not somewhere a client can connect to; the loopback address is. */
function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
