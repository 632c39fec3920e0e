import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { ChannelAdapter, OutboundMessage, SendResult } from './channel.js';
import { createMailDevLookup } from './mail-lookup.js';
import { classifySmtpError } from './smtp-failures.js';
import { smtpSocketFactory } from './smtp-socket.js';

/**
 * One Message-ID per delivery, whoever sends it and however often: a copy sent again carries the same id, which lets
 * the server be asked for it and lets mailboxes that drop repeated ids (Gmail does) show it once.
 */
export function messageIdOf(idempotencyKey: string, from: string): string {
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'gateway.local';
  return `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}@${domain}>`;
}

export interface EmailChannelOptions {
  smtpUrl: string;
  from: string;
  maxConnections?: number;
  /** The SMTP server's HTTP API (MailDev's), asked before an email is sent again; absent where it cannot be asked. */
  lookupUrl?: string;
}

/** Email through a pooled SMTP transport (MailDev locally, Mailhog in compose, any relay in production). */
export function createEmailChannel({
  smtpUrl,
  from,
  maxConnections = 10,
  lookupUrl,
}: EmailChannelOptions): ChannelAdapter {
  const url = new URL(smtpUrl);
  const lookup = lookupUrl ? createMailDevLookup(lookupUrl) : undefined;
  const host = url.hostname;
  const port = Number(url.port || (url.protocol === 'smtps:' ? 465 : 25));
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections,
    // Each pooled connection sends message after message: one per connection at a time, so it is the count of
    // connections that bounds the rate, once no write waits on a delayed ACK (the sockets below).
    maxMessages: Infinity,
    host,
    port,
    secure: url.protocol === 'smtps:',
    ...(url.username && { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }),
    connectionTimeout: 5_000,
    greetingTimeout: 5_000,
    socketTimeout: 15_000,
    // Nagle off (see smtpSocketFactory). smtps: nodemailer connects through TLS itself, on its own socket.
    ...(url.protocol === 'smtp:' && { getSocket: smtpSocketFactory({ host, port, connectionTimeoutMs: 5_000 }) }),
  } satisfies SMTPPool.Options);

  return {
    channel: 'email',
    async send(message: OutboundMessage): Promise<SendResult> {
      try {
        const info = await transport.sendMail({
          from,
          to: message.to,
          subject: message.subject ?? '',
          text: message.text,
          ...(message.html && { html: message.html }),
          messageId: messageIdOf(message.idempotencyKey, from),
          // Receivers and relays that deduplicate by header can use it; our own ledger does not depend on it.
          headers: { 'X-Idempotency-Key': message.idempotencyKey, 'X-Event-Type': message.eventType },
        });
        return { providerId: info.messageId, status: 'sent' };
      } catch (error) {
        throw classifySmtpError(error);
      }
    },
    ...(lookup && { findSent: (message: OutboundMessage) => lookup(messageIdOf(message.idempotencyKey, from)) }),
    async close() {
      transport.close();
    },
  };
}
