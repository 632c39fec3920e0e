import { execFileSync } from 'node:child_process';
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, it } from 'vitest';
import { portOpen } from '../scripts/stack/daemon.js';
import { uniqueEmail } from './helpers/full-gateway.js';
import { emailsTo } from './helpers/maildev.js';
import { waitFor } from './helpers/wait-for.js';

const MAILDEV = process.env.MAIL_PREVIEW_URL ?? 'http://127.0.0.1:1080';

/** The MailDev process itself (not its supervisor): what dies when MailDev crashes. */
function maildevPids(): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => /maildev\/bin\/maildev/.test(line) && !/maildev-supervisor/.test(line))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

const answers = async () => (await portOpen('127.0.0.1', 1025)) && (await fetch(`${MAILDEV}/email`)).ok;

/** The local stack's SMTP capture, as `npm start` and `npm test` rely on it: it does not stay dead. */
describe('the local SMTP capture', () => {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: 1025, secure: false, pool: true });
  afterAll(() => transport.close());
  const send = (to: string, subject: string) =>
    transport.sendMail({ from: 'test@example.com', to, subject, text: '.' });

  it('is started again within seconds when it dies, keeping the mail it had caught', async () => {
    const to = uniqueEmail('capture');
    await send(to, 'before the crash');
    await waitFor('the first email caught', async () => (await emailsTo(to)).length === 1);

    const [pid] = maildevPids();
    expect(pid, 'a MailDev process').toBeDefined();
    process.kill(pid!, 'SIGKILL');
    await waitFor('MailDev to answer again', () => answers().catch(() => false), {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    expect(maildevPids()).not.toContain(pid);

    await send(to, 'after the crash');
    const caught = await waitFor('both emails listed', async () => {
      const mail = await emailsTo(to);
      return mail.length === 2 ? mail : undefined;
    });
    expect(caught.map((m) => m.subject).sort()).toEqual(['after the crash', 'before the crash']);
  });

  it('keeps catching mail after "delete all" while mail is arriving', async () => {
    const to = uniqueEmail('clear');
    const sending = Promise.allSettled(Array.from({ length: 150 }, (_, i) => send(to, `under load ${i}`)));
    for (let i = 0; i < 5; i++) {
      await fetch(`${MAILDEV}/email/all`, { method: 'DELETE' }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    await sending;
    await waitFor('MailDev to answer', () => answers().catch(() => false), { timeoutMs: 30_000, intervalMs: 250 });
    const after = uniqueEmail('after-clear');
    await waitFor(
      'an email after the clear',
      async () => {
        await send(after, 'after the clear').catch(() => undefined);
        return (await emailsTo(after)).length > 0;
      },
      { timeoutMs: 30_000, intervalMs: 1_000 },
    );
  });
});
