/** What MailDev caught, through its REST API: what an operator sees in its UI. */
export interface CaughtEmail {
  id: string;
  subject: string;
  html?: string;
  text?: string;
  to: Array<{ address: string; name?: string }>;
  headers: Record<string, string>;
}

const MAILDEV = process.env.MAIL_PREVIEW_URL ?? 'http://127.0.0.1:1080';

export async function allEmails(): Promise<CaughtEmail[]> {
  const response = await fetch(`${MAILDEV}/email`);
  if (!response.ok) throw new Error(`MailDev answered ${response.status}`);
  return (await response.json()) as CaughtEmail[];
}

/** Emails addressed to any of these addresses (tests use addresses of their own, so others' mail never counts). */
export async function emailsTo(addresses: string | string[]): Promise<CaughtEmail[]> {
  const wanted = new Set([addresses].flat().map((a) => a.toLowerCase()));
  return (await allEmails()).filter((email) => email.to.some((to) => wanted.has(to.address.toLowerCase())));
}
