import net from 'node:net';

type SocketCallback = (error: Error | null, socket?: { connection: net.Socket }) => void;

/**
 * nodemailer's `getSocket` for a plain SMTP server (STARTTLS upgrades on top of it), with Nagle's algorithm off:
 * nodemailer's own sockets leave it on, and SMTP's small writes then wait ~40 ms each on the server's delayed ACK,
 * which held each pooled connection to about 20 messages a second. (A socket handed over unconnected, nodemailer's
 * `socket` option, stayed that slow even with the option set: it is connected here and handed over as `connection`.)
 *
 * A socket that fails to connect is handed over all the same and its error raised again once nodemailer listens:
 * reporting it through the callback instead leaves the pool's slot taken for good (nodemailer 7), so after a few
 * failed connections every send would wait forever.
 */
export function smtpSocketFactory({
  host,
  port,
  connectionTimeoutMs,
}: {
  host: string;
  port: number;
  connectionTimeoutMs: number;
}) {
  return (_options: unknown, callback: SocketCallback): void => {
    const socket = net.connect({ host, port, noDelay: true });
    socket.setTimeout(connectionTimeoutMs);
    const settle = (error?: Error) => {
      socket.off('connect', onConnect).off('error', settle).off('timeout', onTimeout).setTimeout(0);
      callback(null, { connection: socket });
      if (error) {
        setImmediate(() => {
          socket.emit('error', error);
          socket.destroy();
        });
      }
    };
    const onConnect = () => settle();
    const onTimeout = () =>
      settle(Object.assign(new Error(`connection to ${host}:${port} timed out`), { code: 'ETIMEDOUT' }));
    socket.once('connect', onConnect).once('error', settle).once('timeout', onTimeout);
  };
}
