/**
 * Whether an error thrown while handling a record belongs to the record (it will fail the same way every time it is
 * read) or to the world around it (a server down, a connection dropped: it will pass). The first kind is
 * dead-lettered after a few tries, so no record can stop or loop a consumer group; the second is retried for as long
 * as it lasts, since dead-lettering every record during an outage would be worse than waiting.
 */
export type FaultKind = 'record' | 'outage' | 'unknown';

// PostgreSQL classes that a value causes: data exceptions (NUL in text, a number out of range, bad JSON), integrity
// violations, syntax or undefined objects (a bug the record reaches), and program limits (a value too large).
const RECORD_SQL_CLASSES = new Set(['22', '23', '42', '54']);
// Connection exceptions, insufficient resources, operator intervention (shutdown, a cancelled statement), system errors.
const OUTAGE_SQL_CLASSES = new Set(['08', '53', '57', '58']);
const OUTAGE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export function faultKindOf(error: unknown): FaultKind {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('E')) {
    if (RECORD_SQL_CLASSES.has(code.slice(0, 2))) return 'record';
    if (OUTAGE_SQL_CLASSES.has(code.slice(0, 2))) return 'outage';
  }
  if (typeof code === 'string' && OUTAGE_NODE_CODES.has(code)) return 'outage';
  // A bug the record reaches, whatever its message says (a TypeError "reading 'timeoutMs'" is no outage).
  if (
    error instanceof TypeError ||
    error instanceof RangeError ||
    error instanceof SyntaxError ||
    error instanceof URIError
  ) {
    return 'record';
  }
  const name = (error as Error)?.name ?? '';
  // kafkajs and ioredis name their connection failures; they pass with the outage.
  if (
    /^KafkaJS/.test(name) ||
    name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|connect ECONN|timeout/i.test((error as Error)?.message ?? '')
  ) {
    return 'outage';
  }
  return 'unknown';
}

/**
 * kafkajs' answers that the group is moving on (a heartbeat inside a record heard of a rebalance): neither the
 * record's fault nor an outage. kafkajs rejoins when one reaches it from the batch.
 */
const GROUP_MEMBERSHIP_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

export const isGroupMembershipError = (error: unknown): boolean =>
  error instanceof RecordHandedOverError || GROUP_MEMBERSHIP_ERRORS.has(String((error as { type?: unknown })?.type));

/**
 * A record left unsettled on purpose: some of its sends were given up, unsent, because the member hands its records
 * on (a rebalance began, or it stops). Like a group membership error: read again by the record's next owner, and not
 * counted against the record.
 */
export class RecordHandedOverError extends Error {
  constructor() {
    super('the record was handed on with sends given up unsent');
    this.name = 'RecordHandedOverError';
  }
}

/** Reads of one record that may fail before it is dead-lettered: a record fault at once on the third, others later. */
export const FAILURES_BEFORE_DEAD_LETTER: Record<Exclude<FaultKind, 'outage'>, number> = { record: 3, unknown: 10 };

/** What a dead letter says of the error: its class and SQLSTATE or code and its message, never a stack. */
export function describeError(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  const message = (error as Error)?.message ?? String(error);
  return `${(error as Error)?.name ?? 'Error'}${typeof code === 'string' ? ` ${code}` : ''}: ${message}`.slice(0, 400);
}
