import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Personal data never reaches the logs: these paths are censored wherever an event, a recipient or a message body
 * is logged, at the top level or one object down.
 */
const PERSONAL_FIELDS = [
  'userEmail',
  'userPhone',
  'userName',
  'passengerName',
  'email',
  'phone',
  'to',
  'body',
  'html',
  'text',
];
const REDACT_PATHS = PERSONAL_FIELDS.flatMap((field) => [field, `*.${field}`]);

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'gateway',
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  });
}
