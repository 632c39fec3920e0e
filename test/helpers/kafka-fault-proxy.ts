import { once } from 'node:events';
import net from 'node:net';
import {
  COORDINATOR_NOT_AVAILABLE,
  FrameSplitter,
  OFFSET_COMMIT,
  OFFSET_COMMIT_VERSIONS,
  committedTopics,
  offsetCommitFailure,
  requestHeader,
} from './kafka-frames.js';

/**
 * A TCP proxy in front of a Kafka broker that advertises the proxy's address, so that every connection of a client
 * (bootstrap, partition leaders, the group coordinator) passes through it. It relays whole frames both ways; while
 * commits are refused, an OffsetCommit request never reaches the broker and the proxy answers it itself with
 * COORDINATOR_NOT_AVAILABLE for each of its partitions, which is what a broker says when it cannot write the commit to
 * __consumer_offsets. kafkajs takes that error as retriable and does not rejoin the group for it (only
 * REBALANCE_IN_PROGRESS, NOT_COORDINATOR and ILLEGAL_GENERATION make it rejoin): the fault the consumers must outlast.
 */
export interface KafkaFaultProxy {
  readonly port: number;
  /** Offset commits the proxy answered with the error so far. */
  readonly refusedCommits: number;
  refuseCommits(on: boolean): void;
  close(): Promise<void>;
}

export async function startKafkaFaultProxy(broker: { host: string; port: number }): Promise<KafkaFaultProxy> {
  const sockets = new Set<net.Socket>();
  let refusing = false;
  let refused = 0;

  /** The answer to write back instead of forwarding `frame`, when it is an offset commit to refuse. */
  const refusal = (frame: Buffer): Buffer | undefined => {
    if (!refusing) return undefined;
    const header = requestHeader(frame);
    if (header.apiKey !== OFFSET_COMMIT) return undefined;
    // A version this proxy cannot read goes through: the test's count of refusals then says nothing was refused.
    if (!OFFSET_COMMIT_VERSIONS.includes(header.apiVersion)) return undefined;
    refused++;
    return offsetCommitFailure(header, committedTopics(frame, header), COORDINATOR_NOT_AVAILABLE);
  };

  const server = net.createServer((client) => {
    const upstream = net.connect(broker);
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    // Only whole frames are written to the client, so an answer of the proxy's own never lands inside one of the
    // broker's. kafkajs matches answers to requests by correlation id, so it may come before earlier ones.
    const fromClient = new FrameSplitter();
    const fromBroker = new FrameSplitter();
    client.on('data', (chunk: Buffer) => {
      for (const frame of fromClient.push(chunk)) {
        const answer = refusal(frame);
        if (answer) client.write(answer);
        else if (!upstream.write(frame)) client.pause();
      }
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => {
      for (const frame of fromBroker.push(chunk)) if (!client.write(frame)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');

  return {
    port: (server.address() as net.AddressInfo).port,
    get refusedCommits() {
      return refused;
    },
    refuseCommits(on: boolean) {
      refusing = on;
    },
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
