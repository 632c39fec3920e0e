import amqp, { type AmqpConnectionManager } from 'amqp-connection-manager';
import type { Logger } from '../logger.js';

/**
 * A RabbitMQ connection that reconnects by itself after the server restarts; channels made from it run their setup
 * (queue declarations, consumers) again on every reconnect.
 */
export function connectAmqp(url: string, { logger, name }: { logger: Logger; name: string }): AmqpConnectionManager {
  const connection = amqp.connect([url], {
    heartbeatIntervalInSeconds: 5,
    reconnectTimeInSeconds: 1,
    // noDelay: a publish waits for its confirm, and with Nagle on each one would also wait on a delayed ACK.
    connectionOptions: { noDelay: true, clientProperties: { connection_name: name } },
  });
  const log = logger.child({ component: 'amqp', connection: name });
  connection.on('connect', () => log.info('rabbitmq connected'));
  connection.on('disconnect', ({ err }) => log.warn({ err }, 'rabbitmq disconnected; reconnecting'));
  connection.on('connectFailed', ({ err }) => log.debug({ err }, 'rabbitmq connect failed; retrying'));
  return connection;
}
