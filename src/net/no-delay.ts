import net from 'node:net';
import tls from 'node:tls';

/**
 * A TCP connection with Nagle's algorithm off, for kafkajs' socketFactory. A request written in small pieces while an
 * earlier one is unacknowledged otherwise waits on the broker's delayed ACK, ~40 ms on Linux. (SMTP has its own
 * factory, src/channels/smtp-socket.ts, shaped to nodemailer's pool.)
 */
export function connectNoDelay(
  options: { host: string; port: number; tls?: tls.ConnectionOptions | boolean },
  onConnect?: () => void,
): net.Socket {
  const socket = options.tls
    ? tls.connect(
        {
          host: options.host,
          port: options.port,
          ...(!net.isIP(options.host) && { servername: options.host }),
          ...(typeof options.tls === 'object' && options.tls),
        },
        onConnect,
      )
    : net.connect({ host: options.host, port: options.port, noDelay: true }, onConnect);
  socket.setNoDelay(true);
  return socket;
}
