import { createRequire } from 'node:module';
import { Kafka, logLevel as KafkaLogLevel, type LogEntry, type RetryOptions, type logCreator } from 'kafkajs';
import type { Logger } from '../logger.js';
import { connectNoDelay } from '../net/no-delay.js';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/** kafkajs' table of the broker's error codes (not exported by its index, but the module the client itself reads). */
const { errorCodes } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
  errorCodes: Array<{ type: string; message: string; retriable: boolean }>;
};

/** Rebalances, as kafkajs meets them: it rejoins the group by itself. */
const REJOINED = new Set(['REBALANCE_IN_PROGRESS', 'UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION']);

/**
 * Broker answers kafkajs logs at error level although it retries them or rejoins (a fresh broker's coordinator not
 * available yet, a group rebalancing when a member comes or goes): routine in a cluster's life, so warnings here. An
 * error that outlasts its retries still reaches us as an error (a crash, a failed send) and is logged as one.
 */
const ROUTINE_ERRORS = new Set(errorCodes.filter((e) => e.retriable || REJOINED.has(e.type)).map((e) => e.message));

/** Sends kafkajs's own log lines through our logger, so they share its format and level. */
function toLogger(logger: Logger): logCreator {
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
      const routine = level === KafkaLogLevel.ERROR && ROUTINE_ERRORS.has(String(extra.error));
      logger[routine ? 'warn' : (LEVELS[level] ?? 'info')]({ kafka: extra }, message);
    };
}

export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Used for connecting as well as for requests; kafkajs' default (5 retries, up to 30 s apart) when absent. */
  retry?: RetryOptions;
}

/** One Kafka client per process role; its producers, consumers and admin share the connection settings. */
export function createKafka({ brokers, clientId, logger, retry }: KafkaOptions): Kafka {
  return new Kafka({
    clientId,
    brokers,
    retry,
    connectionTimeout: 3000,
    // kafkajs' own factory leaves Nagle on: a produce or commit would wait on the broker's delayed ACK.
    socketFactory: ({ host, port, ssl, onConnect }) => {
      const socket = connectNoDelay({ host, port, tls: ssl }, onConnect);
      socket.setKeepAlive(true, 60_000);
      return socket;
    },
    logLevel: KafkaLogLevel.WARN,
    logCreator: toLogger(logger.child({ component: 'kafkajs' })),
  });
}
