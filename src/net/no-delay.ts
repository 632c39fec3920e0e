import net from 'node:net';
import tls from 'node:tls';

/**
 * A TCP connection with Nagle's algorithm off. Request/response protocols that write a command in several small
 * pieces (SMTP's DATA, Kafka's framed requests) otherwise wait on the peer's delayed ACK, ~40 ms a message on
 * Linux: that, not CPU, bounded each connection at about 25 messages a second.
 */
export function connectNoDelay(options: { host: string; port: number; tls?: tls.ConnectionOptions | boolean }, onConnect?: () => void): net.Socket {
  const socket = options.tls
    ? tls.connect({ host: options.host, port: options.port, ...(!net.isIP(options.host) && { servername: options.host }), ...(typeof options.tls === 'object' && options.tls) }, onConnect)
    : net.connect({ host: options.host, port: options.port, noDelay: true }, onConnect);
  socket.setNoDelay(true);
  return socket;
}
