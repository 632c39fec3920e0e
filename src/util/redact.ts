/**
 * Providers quote what they refused: Twilio the number ("The 'To' number +9198… is not a valid phone number"), SMTP
 * servers the address ("550 5.1.1 <asha@example.com>: Recipient address rejected"), client libraries the URL they
 * called, credentials included. Their text is kept (it says why a delivery failed) but goes through this before it is
 * stored or logged, so the ledger, the dead letters and their Kafka headers never hold the person's contact details
 * or a secret. Ids such as Twilio's AC…/SM… sids, SMTP status codes and error codes are left as they are.
 */

// Scheme, then anything up to whitespace or a quote/bracket that usually closes a quoted URL.
const URL_PATTERN = /\b[a-z][a-z0-9+.-]*:\/\/[^\s<>"'`]+/gi;
// Punctuation that ends a sentence rather than the URL ("see https://…/21211.").
const URL_TAIL = /[.,;:!?)\]]+$/;
// A credential after its scheme: it has a digit or base64's +/=, or is long ("Basic authentication failed" stays).
const AUTH_SCHEME = /\b(Bearer|Basic|Digest|Token)\s+(?:[\w.~+/-]*[\d+/=][\w.~+/=-]*|[\w.~+/=-]{20,})/gi;
const SECRET_ASSIGNMENT =
  /\b(password|passwd|pass|pwd|secret|token|auth[_-]?token|api[_-]?key|access[_-]?key)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&;,]+)/gi;
// Anything@anything: a local part cut short by truncation ("asha@") or a domain without a dot still goes.
const EMAIL = /[^\s<>()[\]{}"',;:@]+@[^\s<>()[\]{}"',;:@]*/g;
// E.164 and its printed forms ("+91 98123 45678", "whatsapp:+9198…"): a plus and at least 7 digits.
const PLUS_PHONE = /\+\d(?:[ -]?\d){6,}/g;
// A bare run of 8+ digits standing alone; digits inside a sid or a hex id (SM0f3…) are part of a word and stay.
const DIGIT_RUN = /(?<![\w.])\d{8,}(?![\w])/g;

/** The URL without its user info, query and fragment (where tokens and personal parameters travel). */
function cleanUrl(raw: string): string {
  const tail = URL_TAIL.exec(raw)?.[0] ?? '';
  const body = tail ? raw.slice(0, -tail.length) : raw;
  try {
    const url = new URL(body);
    return `${url.protocol}//${url.host}${url.pathname === '/' && !body.endsWith('/') ? '' : url.pathname}${tail}`;
  } catch {
    // Not parseable as a URL: drop what would be user info and query all the same.
    return body.replace(/\/\/[^/@\s]*@/, '//').replace(/[?#].*$/, '') + tail;
  }
}

/** Provider or library error text with contact details, credentials and URL secrets taken out. Idempotent. */
export function redactProviderText(text: string): string {
  return text
    .replace(URL_PATTERN, cleanUrl)
    .replace(AUTH_SCHEME, (_match, scheme: string) => `${scheme} [token]`)
    .replace(SECRET_ASSIGNMENT, (_match, name: string, sep: string) => `${name}${sep}[secret]`)
    .replace(EMAIL, '[email]')
    .replace(PLUS_PHONE, '[phone]')
    .replace(DIGIT_RUN, '[phone]');
}
