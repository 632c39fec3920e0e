import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { ChannelAdapter } from '../channels/channel.js';
import { createEmailChannel } from '../channels/email.channel.js';
import { withSendRate, type SendRateOptions } from '../channels/send-rate.js';
import { createTwilioChannel } from '../channels/twilio.channel.js';
import { createWebsocketChannel } from '../channels/websocket.channel.js';
import type { Config } from '../config.js';
import type { Channel } from '../events/index.js';
import type { Logger } from '../logger.js';
import type { FieldCipher } from '../util/field-cipher.js';

/** The channel's provider adapter, as the configuration describes it. */
export function adapterFor(
  channel: Channel,
  config: Config,
  deps: { pool: pg.Pool; redis: Redis; cipher: FieldCipher; logger: Logger },
): ChannelAdapter {
  const twilio = {
    accountSid: config.TWILIO_ACCOUNT_SID,
    authToken: config.TWILIO_AUTH_TOKEN,
    baseUrl: config.TWILIO_API_BASE_URL,
    statusCallback: `${config.PUBLIC_URL}/webhooks/twilio/status`,
    maxInFlight: config.TWILIO_MAX_IN_FLIGHT,
  };
  switch (channel) {
    case 'email':
      return createEmailChannel({
        smtpUrl: config.SMTP_URL,
        from: config.SMTP_FROM,
        maxConnections: config.SMTP_MAX_CONNECTIONS,
        ...(config.SMTP_LOOKUP_URL !== 'none' && { lookupUrl: config.SMTP_LOOKUP_URL }),
      });
    case 'sms':
      return createTwilioChannel({ channel, ...twilio, from: config.TWILIO_SMS_FROM });
    case 'whatsapp':
      return createTwilioChannel({ channel, ...twilio, from: config.TWILIO_WHATSAPP_FROM });
    case 'websocket':
      return createWebsocketChannel(deps);
  }
}

/** The channel's sender and its configured rate, if it has one; websocket alerts have no provider to keep it for. */
export function rateLimited(
  adapter: ChannelAdapter,
  config: Config,
  deps: Pick<SendRateOptions, 'redis' | 'signal' | 'waitSeconds'>,
): ChannelAdapter {
  const senders = {
    email: { sender: config.SMTP_FROM, perSecond: config.EMAIL_SENDS_PER_SECOND },
    sms: { sender: config.TWILIO_SMS_FROM, perSecond: config.SMS_SENDS_PER_SECOND },
    whatsapp: { sender: config.TWILIO_WHATSAPP_FROM, perSecond: config.WHATSAPP_SENDS_PER_SECOND },
    websocket: { sender: '', perSecond: undefined },
  } as const;
  const { sender, perSecond } = senders[adapter.channel];
  return perSecond
    ? withSendRate(adapter, { ...deps, sender, perSecond, marginMs: config.SEND_RATE_MARGIN_MS })
    : adapter;
}
