import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

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

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** One readable line per entry (pino-pretty) instead of JSON: for a person at a terminal, never for a collector. */
  pretty?: boolean;
}

export function createLogger({
  level = 'info',
  name = 'gateway',
  pretty: readable = false,
}: LoggerOptions = {}): Logger {
  const options = { name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (!readable) return pino(options);
  // Synchronous, in this thread: the last lines before an exit are written, not lost with a transport's worker.
  return pino(options, pretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
}

/** Readable lines when a person runs the gateway in a terminal; JSON in production and whenever output is piped. */
export const wantsPrettyLogs = (nodeEnv: string, isTTY: boolean | undefined): boolean =>
  nodeEnv !== 'production' && isTTY === true;
