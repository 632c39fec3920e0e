import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

/** Postfix's words for an unknown mailbox. */
export const postfixUnknownUser = (address: string) =>
  `5.1.1 <${address}>: Recipient address rejected: User unknown in local recipient table`;
/** Exchange Online's: the address unbracketed, mid-sentence. */
export const exchangeUnknownUser = (address: string) =>
  `5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient ${address} not found by SMTP address lookup`;

/** What the server accepted: its envelope's recipients and the raw message. */
export interface ReceivedMail {
  to: string[];
  raw: string;
}

export interface TestSmtpServer {
  /** `smtp://user:secret@127.0.0.1:<port>`: with credentials, so nodemailer logs in and the server can refuse it. */
  url: string;
  received: ReceivedMail[];
  /** While true, every login is refused with 535, as a relay does once its password was rotated. */
  refuseLogins: boolean;
  /** Logins refused so far. */
  refusedLogins: number;
  close(): Promise<void>;
}

/**
 * A real SMTP server (the `smtp-server` package MailDev is built on) that answers as production relays do where
 * MailDev accepts everything: 550 5.1.1 for the recipients named, 535 5.7.8 for logins while `refuseLogins` is set.
 */
export async function startTestSmtpServer({
  rejectRecipients = [],
  rejectWith = postfixUnknownUser,
  dataDelayMs = 0,
}: {
  rejectRecipients?: string[];
  /** The reply text after 550 for a rejected recipient (Postfix's by default). */
  rejectWith?: (address: string) => string;
  /** How long the server takes over each message before its 250 (a relay scanning it, say). */
  dataDelayMs?: number;
} = {}): Promise<TestSmtpServer> {
  const rejected = new Set(rejectRecipients.map((a) => a.toLowerCase()));
  const received: ReceivedMail[] = [];
  const handle: Omit<TestSmtpServer, 'url' | 'close'> = { received, refuseLogins: false, refusedLogins: 0 };
  const options: SMTPServerOptions = {
    // Plain AUTH on localhost: the gateway's transport only tries TLS when it is offered.
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (handle.refuseLogins) {
        handle.refusedLogins += 1;
        return callback(Object.assign(new Error('5.7.8 Username and Password not accepted'), { responseCode: 535 }));
      }
      callback(null, { user: auth.username });
    },
    onRcptTo(address, _session, callback) {
      if (!rejected.has(address.address.toLowerCase())) return callback();
      callback(Object.assign(new Error(rejectWith(address.address)), { responseCode: 550 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        setTimeout(() => {
          received.push({
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        }, dataDelayMs);
      });
    },
  };
  const server = new SMTPServer(options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as { port: number };
  return Object.assign(handle, {
    url: `smtp://gateway:secret@127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }) as TestSmtpServer;
}
