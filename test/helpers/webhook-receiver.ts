import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedNotice {
  headers: IncomingHttpHeaders;
  body: string;
  /** What the receiver answered (0: it hung, and never answered). */
  answered: number;
  at: number;
}

/**
 * An operator's webhook endpoint: records every request and answers `status` (200, or what the test sets, to play a
 * receiver that is down; `'hang'` plays one that never answers). Listens on `host` (127.0.0.1; any 127.x address is
 * this machine too).
 */
export async function startWebhookReceiver({ host = '127.0.0.1' } = {}) {
  const received: ReceivedNotice[] = [];
  let status: number | 'hang' = 200;
  const held = new Set<ServerResponse>();
  let abandoned = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const answer = status;
      received.push({
        headers: request.headers,
        body: Buffer.concat(chunks).toString(),
        answered: answer === 'hang' ? 0 : answer,
        at: Date.now(),
      });
      if (answer !== 'hang') return void response.writeHead(answer).end();
      held.add(response);
      response.on('close', () => {
        // The sender gave up on it (its timeout); the receiver never answered.
        if (held.delete(response)) abandoned += 1;
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/hooks/delivery-status`,
    port,
    received,
    /** The notices taken (answered 2xx), each parsed. */
    accepted: () =>
      received
        .filter((r) => r.answered >= 200 && r.answered < 300)
        .map((r) => ({ ...r, notice: JSON.parse(r.body) as { type: string; data: Record<string, unknown> } })),
    answer(code: number | 'hang') {
      status = code;
    },
    /** Requests held unanswered that the sender is still waiting on. */
    hanging: () => held.size,
    /** Requests held unanswered that the sender gave up on. */
    abandoned: () => abandoned,
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of held) response.destroy();
        held.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
