import { Kafka, logLevel as KafkaLogLevel, type LogEntry, type RetryOptions, type logCreator } from 'kafkajs';
import type { Logger } from '../logger.js';
import { connectNoDelay } from '../net/no-delay.js';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/** Sends kafkajs's own log lines through our logger, so they share its format and level. */
function toLogger(logger: Logger): logCreator {
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
      logger[LEVELS[level] ?? 'info']({ kafka: extra }, message);
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
