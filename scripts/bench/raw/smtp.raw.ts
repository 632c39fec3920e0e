/**
 * nodemailer's pool at its best: 10 connections that each send message after message (maxMessages Infinity), with
 * Nagle off as the gateway's email channel has it, ~200 sends in flight. Into smtp-sink that is nodemailer's own
 * limit; into MailDev it is MailDev's (it parses and stores every mail).
 */
import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import { smtpSocketFactory } from '../../../src/channels/smtp-socket.js';
import { closedLoop, uniqueSuffix } from './shared.js';
import { startSmtpSink } from './smtp-sink.js';

const IN_FLIGHT = 200;
const WARMUP_MS = 1_000;
const DURATION_MS = 5_000;
/** Shorter: every email MailDev keeps is one DELETE to send afterwards. */
const MAILDEV_DURATION_MS = 4_000;
/** MailDev as the local stack runs it; fixed rather than SMTP_URL, which a benchmark may point at the sink. */
const MAILDEV_SMTP = { host: '127.0.0.1', port: 1025 };
const MAILDEV_API = 'http://127.0.0.1:1080';
const CLEANUP_MS = 8_000;

const TEXT =
  `Hello Asha Verma,\n\nYour booking is confirmed. PNR 4521789630, train 12951 Mumbai Rajdhani Express,\n` +
  `New Delhi 16:55 to Mumbai Central 08:35 on 20 Dec 2026, coach B4 seat 32 (AC 3 tier).\nTotal fare ₹3,054.15.\n\n` +
  `Have a good journey.\n`;
const HTML =
  `<!doctype html><html><body style="font-family:sans-serif"><h1>Booking confirmed</h1>` +
  `<p>Hello Asha Verma,</p><p>Your booking is confirmed.</p><table>` +
  [
    ['PNR', '4521789630'],
    ['Train', '12951 Mumbai Rajdhani Express'],
    ['From', 'New Delhi 16:55'],
    ['To', 'Mumbai Central 08:35'],
    ['Date', '20 Dec 2026'],
    ['Coach / seat', 'B4 / 32 (AC 3 tier)'],
    ['Fare', '₹3,054.15'],
  ]
    .map(([k, v]) => `<tr><td style="padding:2px 8px;color:#555">${k}</td><td style="padding:2px 8px">${v}</td></tr>`)
    .join('') +
  `</table><p>Have a good journey.</p></body></html>`;

function createPool(host: string, port: number) {
  return nodemailer.createTransport({
    pool: true,
    maxConnections: 10,
    maxMessages: Infinity,
    host,
    port,
    secure: false,
    connectionTimeout: 5_000,
    greetingTimeout: 5_000,
    socketTimeout: 15_000,
    // The gateway's own sockets (src/channels/smtp-socket.ts): without them every message waits ~40 ms on a delayed ACK.
    getSocket: smtpSocketFactory({ host, port, connectionTimeoutMs: 5_000 }),
  } satisfies SMTPPool.Options);
}

/** Emails/s through one pool into host:port; `subject` marks them, so MailDev's copies can be found and deleted. */
async function sendFlatOut(
  host: string,
  port: number,
  subject: string,
  progress: (line: string) => void,
  durationMs = DURATION_MS,
): Promise<number> {
  const transport = createPool(host, port);
  try {
    return await closedLoop({
      concurrency: IN_FLIGHT,
      warmupMs: WARMUP_MS,
      durationMs,
      progress,
      label: `smtp ${host}:${port}`,
      op: async (i) => {
        await transport.sendMail({
          from: 'Gateway bench <bench@gateway.local>',
          to: `traveller${i % 1000}@example.com`,
          subject,
          text: TEXT,
          html: HTML,
        });
      },
    });
  } finally {
    transport.close();
  }
}

/** Emails/s into a fresh smtp-sink; NaN (with the reason in progress) when smtp-sink cannot be had. */
export async function measureSmtpSink(progress: (line: string) => void): Promise<number> {
  const sink = await startSmtpSink({ progress });
  if (!sink) return NaN;
  try {
    return await sendFlatOut(sink.host, sink.port, 'Booking confirmed · PNR 4521789630', progress);
  } finally {
    await sink.stop();
  }
}

/** Emails/s into MailDev; ours are deleted by id afterwards (never /email/all: others' mail is there too). */
export async function measureMaildev(progress: (line: string) => void): Promise<number> {
  const subject = `bench-raw ${uniqueSuffix()} · booking confirmed`;
  try {
    return await sendFlatOut(MAILDEV_SMTP.host, MAILDEV_SMTP.port, subject, progress, MAILDEV_DURATION_MS);
  } finally {
    const deleted = await deleteMaildevMails(subject).catch((error: Error) =>
      progress(`maildev: cleanup failed: ${error.message}`),
    );
    if (typeof deleted === 'number') progress(`maildev: deleted the bench's ${deleted} emails by id`);
  }
}

/**
 * MailDev filters its list by exact field values (`?subject=`); then one DELETE per id, 16 at a time, for at most
 * CLEANUP_MS (MailDev takes ~1 ms a delete; whatever is left then stays, as if the bench had not cleaned up).
 */
async function deleteMaildevMails(subject: string): Promise<number> {
  const deadline = performance.now() + CLEANUP_MS;
  const response = await fetch(`${MAILDEV_API}/email?${new URLSearchParams({ subject })}`, {
    signal: AbortSignal.timeout(CLEANUP_MS),
  });
  if (!response.ok) throw new Error(`GET /email answered ${response.status}`);
  const ids = ((await response.json()) as Array<{ id: string }>).map((mail) => mail.id);
  let next = 0;
  let deleted = 0;
  const worker = async () => {
    while (next < ids.length && performance.now() < deadline) {
      const url = `${MAILDEV_API}/email/${encodeURIComponent(ids[next++]!)}`;
      // One that fails (MailDev restarted, already gone) is left; the rest are still worth deleting.
      const ok = await fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(2_000) }).then(
        async (reply) => (await reply.body?.cancel(), reply.ok),
        () => false,
      );
      if (ok) deleted++;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return deleted;
}
