import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import { emailsTo } from './maildev.js';
import { waitFor } from './wait-for.js';

/**
 * An email of the test's own, left in MailDev at the start: if it is gone at the end, MailDev was restarted or cleared
 * during the test (another run on this machine may do that), and an email count of this run means nothing.
 */
export async function leaveMailSentinel(smtpUrl: string): Promise<{ stillThere(): Promise<boolean> }> {
  const address = `sentinel.${randomBytes(4).toString('hex')}@example.com`;
  const transport = nodemailer.createTransport(smtpUrl);
  try {
    await transport.sendMail({
      from: 'fault-test@example.com',
      to: address,
      subject: 'sentinel',
      text: 'kept since the test began',
    });
  } finally {
    transport.close();
  }
  await waitFor('the sentinel email in MailDev', async () => (await emailsTo(address)).length === 1);
  return { stillThere: async () => (await emailsTo(address)).length === 1 };
}
