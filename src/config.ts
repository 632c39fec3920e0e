import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';
import { z } from 'zod';
import { GatewayError } from './errors/gateway-error.js';
import { DEFAULT_EXPIRY_GRACE, isDisruptionType } from './events/expiry.js';
import { parseDataKeys } from './util/field-cipher.js';

/**
 * Every setting of the gateway, read once from the environment. Defaults work on the local stack
 * (`npm run stack:up`) with NODE_ENV=development, which the npm scripts set. A process started without NODE_ENV is a
 * production one: it refuses the development secrets, weak secrets and a Twilio API that is the sandbox.
 */
const DEV_SECRETS = {
  INGEST_API_KEYS: 'dev-ingest-key',
  ADMIN_TOKEN: 'dev-admin-token',
  JWT_SECRET: 'dev-jwt-secret',
  TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000',
  TWILIO_AUTH_TOKEN: 'dev-twilio-token',
  DATA_ENCRYPTION_KEYS: 'dev:ZGV2LWRhdGEta2V5LW5vdC1mb3ItcHJvZHVjdGlvbiE=',
  DATA_HASH_KEY: 'ZGV2LWhhc2gta2V5LW5vdC1mb3ItcHJvZHVjdGlvbiEh',
} as const;

const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
  );

const csv = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string()).min(1, 'must list at least one value'));

const port = z.coerce.number().int().min(1).max(65535);

/** A DNS host name (an allow-list entry that is not an address or a CIDR range). */
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const hostOrRange = z
  .string()
  .refine(
    (entry) => ipaddr.isValid(entry) || ipaddr.isValidCIDR(entry) || HOST_NAME.test(entry),
    'must be a host name, an address or a CIDR range (10.0.0.0/8)',
  );
/** proxy-addr's names for whole ranges, which Fastify's trustProxy takes as well as addresses. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** An IPv4 or IPv6 address, optionally with a prefix length (`10.0.0.0/8`), or one of proxy-addr's range names. */
function isProxyAddress(item: string): boolean {
  if (PROXY_RANGE_NAMES.includes(item)) return true;
  const [address = '', bits, ...rest] = item.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

/**
 * Fastify's `trustProxy`, as the proxies' addresses and ranges. Neither `true` (believe any peer) nor a hop count is
 * taken: both believe an X-Forwarded-For that a client who reached the api directly wrote itself (Fastify itself
 * trusts no one given a hop count, for that reason).
 */
const trustedProxies = z.string().transform((value, ctx): false | string[] => {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  if (items.length === 0) ctx.addIssue({ code: 'custom', message: 'must list at least one proxy address' });
  for (const item of items.filter((entry) => !isProxyAddress(entry)))
    ctx.addIssue({
      code: 'custom',
      message: `"${item}" is not an IP address or a CIDR range (name the proxies; true and hop counts are not taken)`,
    });
  return items;
});

const sendRate = z.coerce.number().int('must be a whole number of messages per second').min(1).max(10_000).optional();

const schema = z.object({
  // Fails closed: forgetting NODE_ENV on a server must not open /auth/dev-login or accept the development secrets.
  NODE_ENV: z.enum(['development', 'test', 'production']).default('production'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  /**
   * The load balancers or reverse proxies in front of the api, whose X-Forwarded-For is believed: their addresses or
   * CIDR ranges (`10.0.0.0/8,127.0.0.1`). The client address the rate limits count by is then the one the nearest
   * untrusted hop had. Unset: none, the header is ignored (a client cannot pick its own bucket by writing it).
   */
  TRUST_PROXY: trustedProxies.default(false),
  /**
   * Where a process without the api (a worker or a bridge on its own) serves /healthz, /readyz and /metrics, so it
   * can be probed and scraped; 0 serves none (the api's covers a process that runs both, as `npm start` does).
   */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  /**
   * How long SIGTERM may take: stop taking requests and fetching, finish what is in flight, commit, close. A process
   * not done by then exits 1, as does one whose role failed to stop.
   */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** Where providers reach the api (Twilio's status and inbound webhooks are signed against this address). */
  PUBLIC_URL: url(['http:', 'https:'])
    .transform((u) => u.replace(/\/+$/, ''))
    .default('http://127.0.0.1:3000'),

  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/gateway'),
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  AMQP_URL: url(['amqp:', 'amqps:']).default('amqp://guest:guest@127.0.0.1:5672'),
  /** Prepended to RabbitMQ queue names; empty in real use, unique per test run for isolation. */
  AMQP_QUEUE_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/, 'may hold only letters, digits, . _ -')
    .default(''),
  KAFKA_BROKERS: csv.default(['127.0.0.1:9092']),
  KAFKA_CLIENT_ID: z.string().min(1).default('notification-gateway'),
  /** Prepended to every topic name; empty in real use, unique per test run for isolation. */
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/, 'may hold only letters, digits, . _ -')
    .default(''),
  KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(64).default(3),
  /**
   * Partitions of each channel's fan-out topic (notifications.<channel>.fanout), created with them: a disruption's
   * travellers are split into as many parts, which the channel's workers share. An existing topic keeps its count, and
   * the parts follow it.
   */
  FAN_OUT_PARTS: z.coerce.number().int().min(1).max(256).default(12),

  /** The channels a worker process delivers (one consumer group each). */
  WORKER_CHANNELS: csv
    .pipe(z.array(z.enum(['email', 'sms', 'whatsapp', 'websocket'])))
    .default(['email', 'sms', 'whatsapp', 'websocket']),

  /**
   * Records each channel's consumer group has in flight at once in this process (records of one key stay in order),
   * and deliveries in flight at once for one disruption's recipients.
   */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(64),
  /** Delays of the retry topics notifications.<channel>.retry.1…n; after the last one a delivery is dead-lettered. */
  RETRY_DELAYS_MS: csv
    .transform((items) => items.map(Number))
    .pipe(z.array(z.number().int().min(0).max(86_400_000)))
    .default([10_000, 60_000, 600_000]),
  /**
   * Minutes after the departure each kind of disruption notice is still sent, e.g. `FLIGHT_DELAY=30,GATE_CHANGE=0`;
   * the types not named keep their defaults (src/consumers/expiry.ts). One not sent by then is recorded 'expired'.
   */
  EXPIRY_GRACE_MINUTES: csv
    .transform((items, ctx) => {
      const grace = { ...DEFAULT_EXPIRY_GRACE };
      for (const item of items) {
        const [type, minutes] = item.split('=').map((part) => part.trim());
        if (!type || !isDisruptionType(type) || !/^\d{1,5}$/.test(minutes ?? ''))
          ctx.addIssue({ code: 'custom', message: `"${item}" is not TYPE=minutes with a disruption type` });
        else grace[type] = Number(minutes);
      }
      return grace;
    })
    .default(DEFAULT_EXPIRY_GRACE),
  /**
   * How far ahead of the gateway's clock an event's `eventTimestamp` may be at `POST /events` (a partner's clock that
   * runs a little fast); past it the event is refused with a 400. Which disruption is newer never depends on it.
   */
  EVENT_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  /** How long an open circuit breaker waits before one trial send. */
  BREAKER_RESET_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  /**
   * The longest one call to a provider may take before it counts as the provider's failure: a backstop above each
   * client's own deadline (Twilio 10 s plus its queue, SMTP 5 s to connect and 15 s of silence).
   */
  BREAKER_CALL_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(45_000),
  /** A delivery claimed by a process that then died is taken over after this long. */
  DELIVERY_LEASE_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(30_000),
  /**
   * SMS and WhatsApp deliveries still without a final status (delivered, undelivered, failed) this many seconds after
   * their last change are looked up at Twilio, whose status callbacks can be lost; STATUS_RECONCILE_BATCH of them per
   * round and worker, for STATUS_RECONCILE_HOURS after that change (a carrier that never reports is not asked for ever).
   */
  STATUS_RECONCILE_AFTER_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  STATUS_RECONCILE_BATCH: z.coerce.number().int().min(1).max(1_000).default(100),
  STATUS_RECONCILE_HOURS: z.coerce.number().int().min(1).max(720).default(72),
  /**
   * Delivery status webhooks (POST /admin/webhooks): the first retry of a notice the receiver did not take waits this
   * many seconds, each next one about twice as long, for WEBHOOK_RETRY_HOURS; a receiver gets WEBHOOK_TIMEOUT_MS to
   * answer, and each worker posts WEBHOOK_CONCURRENCY notices at once.
   */
  WEBHOOK_RETRY_DELAY_SECONDS: z.coerce.number().int().min(1).max(3_600).default(10),
  WEBHOOK_RETRY_HOURS: z.coerce.number().min(0.001).max(168).default(24),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(8),
  /**
   * Posts in flight to one receiver per worker: a receiver that hangs holds only its own share (and its breaker
   * opens), never every partner's notices.
   */
  WEBHOOK_RECEIVER_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(2),
  /**
   * Refuse to post status notices to addresses that are not public (loopback, private networks, link-local such as
   * 169.254.169.254): checked at every connection, so a name that later resolves inside is refused too. Unset: true
   * in production, false otherwise.
   */
  WEBHOOK_BLOCK_PRIVATE: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .transform((value) => value === 'true')
    .optional(),
  /** Receivers allowed on non-public addresses all the same: host names, addresses and CIDR ranges, comma-separated. */
  WEBHOOK_ALLOWED_HOSTS: csv.pipe(z.array(hostOrRange)).default([]),

  SMTP_URL: url(['smtp:', 'smtps:']).default('smtp://127.0.0.1:1025'),
  /** Pooled SMTP connections per worker process: each carries one message at a time, so this bounds email's rate. */
  SMTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(100).default(10),
  SMTP_FROM: z.string().min(3).default('Travel Alerts <alerts@gateway.local>'),
  MAIL_PREVIEW_URL: url(['http:', 'https:']).default('http://127.0.0.1:1080'),
  /**
   * The SMTP server's HTTP API (MailDev's REST API), asked whether it already holds an email before one is sent again
   * (a delivery taken over from a process that died mid-send); `none` where the server cannot be asked.
   */
  SMTP_LOOKUP_URL: z.union([z.literal('none'), url(['http:', 'https:'])]).default('http://127.0.0.1:1080'),

  TWILIO_ACCOUNT_SID: z
    .string()
    .regex(/^AC[0-9a-fA-F]{32}$/, 'must be AC followed by 32 hex digits')
    .default(DEV_SECRETS.TWILIO_ACCOUNT_SID),
  TWILIO_AUTH_TOKEN: z.string().min(8).default(DEV_SECRETS.TWILIO_AUTH_TOKEN),
  /** Where the twilio SDK sends its requests: the local sandbox unless real Twilio is configured. */
  TWILIO_API_BASE_URL: url(['http:', 'https:']).default('http://127.0.0.1:3100'),
  TWILIO_SMS_FROM: z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number')
    .default('+15005550006'),
  TWILIO_WHATSAPP_FROM: z
    .string()
    .regex(/^whatsapp:\+[1-9]\d{6,14}$/, 'must be whatsapp:+<E.164>')
    .default('whatsapp:+14155238886'),
  /** Requests to the Twilio API in flight at once per channel and worker process (SMS, WhatsApp). */
  TWILIO_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(500).default(16),
  /**
   * Messages per second each sender may send, held across every worker (the window is in Redis), e.g. 1 for a US long
   * code, 3 for a toll-free number, 80 for a WhatsApp sender; sends past it wait their turn. Unset: no limit (the
   * sandbox takes any rate, and so do the tests and the benchmark unless they set one).
   */
  SMS_SENDS_PER_SECOND: sendRate,
  WHATSAPP_SENDS_PER_SECOND: sendRate,
  EMAIL_SENDS_PER_SECOND: sendRate,
  /**
   * Added to the rates' one-second window, for requests that spend longer on the way to the provider than the next
   * (a worker's event loop, the network, the provider's own): a request may arrive this much late and still not bring
   * the next `rate` sends within one second of it. 100 ms was exceeded on a saturated two-core machine (11 SMS in one
   * second at 10/s); the price is the mean rate, at most rate × 1 s / (1 s + margin).
   */
  SEND_RATE_MARGIN_MS: z.coerce.number().int().min(0).max(1_000).default(250),
  SANDBOX_PORT: port.default(3100),

  INGEST_API_KEYS: csv.default([DEV_SECRETS.INGEST_API_KEYS]),
  ADMIN_TOKEN: z.string().min(8).default(DEV_SECRETS.ADMIN_TOKEN),
  JWT_SECRET: z.string().min(8).default(DEV_SECRETS.JWT_SECRET),
  /**
   * The keys that seal secrets at rest (webhook signing secrets): `id:base64` of 32 bytes, comma-separated. The
   * first seals, every one opens: to rotate, put a new key first and keep the old ones while values sealed with them
   * remain (each value names its key).
   */
  DATA_ENCRYPTION_KEYS: z
    .string()
    .default(DEV_SECRETS.DATA_ENCRYPTION_KEYS)
    .transform((text, ctx) => {
      try {
        const keys = parseDataKeys(text);
        if (keys.length === 0) throw new RangeError('must list at least one key');
        return keys;
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** The key of the hash that look-ups by phone number go through (base64, at least 32 bytes). */
  DATA_HASH_KEY: z
    .string()
    .default(DEV_SECRETS.DATA_HASH_KEY)
    .transform((text) => Buffer.from(text, 'base64'))
    .refine((key) => key.length >= 32, 'must be at least 32 bytes in base64 (openssl rand -base64 32)'),

  /** The window the rate limits below count in; counters live in Redis, so every api process shares them. */
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  /** POST /events per known API key per window. High: the ingest benchmark sends ~3,000 events/s with one key. */
  RATE_LIMIT_EVENTS: z.coerce.number().int().min(1).default(1_000_000),
  /** Each user route (/users/…) per client address per window, counted before the token is checked. */
  RATE_LIMIT_USERS: z.coerce.number().int().min(1).default(600),
  /**
   * POST /events with a missing or unknown x-api-key, per client address per window: counted before the key is
   * checked, so guessing keys is limited; a known key counts only towards RATE_LIMIT_EVENTS.
   */
  RATE_LIMIT_UNKNOWN_KEYS: z.coerce.number().int().min(1).default(60),
  /** /auth/… per client address per window. */
  RATE_LIMIT_AUTH: z.coerce.number().int().min(1).default(60),
  /** /admin/… per client address per window, counted before the token is checked (so guesses count too). */
  RATE_LIMIT_ADMIN: z.coerce.number().int().min(1).default(300),
  /**
   * Socket.IO handshakes per client address per window, counted before the token is checked (a client opening
   * sockets with bad tokens is refused with RATE_LIMITED); as generous as a user route, for offices behind one address.
   */
  RATE_LIMIT_SOCKETS: z.coerce.number().int().min(1).default(600),
  /** Live-alert sockets one user may hold on one api process; one more is refused with TOO_MANY_SOCKETS. */
  SOCKETS_PER_USER: z.coerce.number().int().min(1).max(1_000).default(10),
  /**
   * Re-drives from the log running at once, across every api (each reads a window of the log and may send thousands
   * of records into the retry topics); a start past it is refused with a 429.
   */
  REDRIVE_MAX_RUNNING: z.coerce.number().int().min(1).max(100).default(2),
  /** A re-drive that reads no record for this long ends `failed` with the reason, rather than waiting for ever. */
  REDRIVE_STALL_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(120_000),
});

type Parsed = z.infer<typeof schema>;
/** The settings, with the defaults that depend on NODE_ENV filled in. */
export type Config = Readonly<Omit<Parsed, 'WEBHOOK_BLOCK_PRIVATE'> & { WEBHOOK_BLOCK_PRIVATE: boolean }>;

/** Raised when the environment does not describe a usable gateway; the message lists every problem. */
export class ConfigError extends GatewayError<'CONFIG_INVALID'> {
  constructor(readonly problems: string[]) {
    // Retrying with the same environment fails the same way.
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      code: 'CONFIG_INVALID',
      retriable: false,
    });
    this.name = 'ConfigError';
  }
}

/** A secret shorter than this (or made of a few characters repeated) can be guessed or brute-forced. */
export const MIN_SECRET_LENGTH = 32;
const MIN_DISTINCT_CHARACTERS = 8;
const SECRETS = ['INGEST_API_KEYS', 'ADMIN_TOKEN', 'JWT_SECRET', 'TWILIO_AUTH_TOKEN'] as const;

function weakness(secret: string): string | undefined {
  if (secret.length < MIN_SECRET_LENGTH)
    return `must be at least ${MIN_SECRET_LENGTH} characters in production (e.g. openssl rand -hex 32)`;
  if (new Set(secret).size < MIN_DISTINCT_CHARACTERS)
    return `must not repeat a few characters (at least ${MIN_DISTINCT_CHARACTERS} different ones)`;
  return undefined;
}

/**
 * The sandbox only speaks plain HTTP, and real SMS sent to it go nowhere; so in production the Twilio API must be
 * reached over https and not on this machine.
 */
function sandboxProviderProblem(baseUrl: string): string | undefined {
  const { protocol, hostname } = new URL(baseUrl);
  const loopback = hostname === 'localhost' || /^127\./.test(hostname) || hostname === '[::1]';
  if (protocol !== 'https:' || loopback) {
    return 'TWILIO_API_BASE_URL: must be an https:// address that is not this machine in production (https://api.twilio.com); the sandbox is for development';
  }
  return undefined;
}

function productionProblems(config: Parsed): string[] {
  if (config.NODE_ENV !== 'production') return [];
  const devKeys = parseDataKeys(DEV_SECRETS.DATA_ENCRYPTION_KEYS);
  const problems = Object.entries(DEV_SECRETS)
    .filter(([key, devValue]) => {
      if (key === 'DATA_ENCRYPTION_KEYS') return config.DATA_ENCRYPTION_KEYS.some((k) => k.key.equals(devKeys[0]!.key));
      if (key === 'DATA_HASH_KEY') return config.DATA_HASH_KEY.equals(Buffer.from(devValue, 'base64'));
      const value = config[key as Exclude<keyof typeof DEV_SECRETS, 'DATA_ENCRYPTION_KEYS' | 'DATA_HASH_KEY'>];
      return Array.isArray(value) ? value.includes(devValue) : value === devValue;
    })
    .map(([key]) => `${key}: the development default may not be used when NODE_ENV=production`);
  const defaulted = new Set(problems.map((p) => p.split(':')[0]));
  for (const key of SECRETS.filter((name) => !defaulted.has(name))) {
    const values: readonly string[] = key === 'INGEST_API_KEYS' ? config[key] : [config[key]];
    const reason = values.map(weakness).find(Boolean);
    if (reason) problems.push(`${key}: ${reason}`);
  }
  const provider = sandboxProviderProblem(config.TWILIO_API_BASE_URL);
  if (provider) problems.push(provider);
  return problems;
}

/** Reads and validates the environment once; throws a ConfigError that names every bad setting. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set", as in most shells' `VAR= cmd` idiom.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const problems = productionProblems(parsed.data);
  if (problems.length > 0) {
    if (!present.NODE_ENV)
      problems.push(
        'NODE_ENV: not set, which means production; on the local stack set NODE_ENV=development (npm start does)',
      );
    throw new ConfigError(problems);
  }
  const blockPrivate = parsed.data.WEBHOOK_BLOCK_PRIVATE ?? parsed.data.NODE_ENV === 'production';
  return Object.freeze({ ...parsed.data, WEBHOOK_BLOCK_PRIVATE: blockPrivate });
}
