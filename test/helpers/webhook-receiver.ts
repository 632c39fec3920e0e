import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedNotice {
  headers: IncomingHttpHeaders;
  body: string;
  /** What the receiver answered. */
  answered: number;
  at: number;
}

/**
 * An operator's webhook endpoint: records every request and answers `status` (200, or what the test sets, to play a
 * receiver that is down).
 */
export async function startWebhookReceiver() {
  const received: ReceivedNotice[] = [];
  let status = 200;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        headers: request.headers,
        body: Buffer.concat(chunks).toString(),
        answered: status,
        at: Date.now(),
      });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/delivery-status`,
    received,
    /** The notices taken (answered 2xx), each parsed. */
    accepted: () =>
      received
        .filter((r) => r.answered >= 200 && r.answered < 300)
        .map((r) => ({ ...r, notice: JSON.parse(r.body) as { type: string; data: Record<string, unknown> } })),
    answer(code: number) {
      status = code;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
