import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startKafkaNode, stopKafkaNode } from '../../scripts/stack/kafka.js';
import { freePort } from '../../src/util/free-port.js';

/**
 * A single-node broker of a test's own, from the stack's jars, beside the stack's broker: for a fault the test may
 * inflict on every client of it without touching the broker other tests share. Its data lives in a folder of its own,
 * removed when it stops.
 */
export interface OwnBroker {
  /** Where the broker listens; clients are told `advertise` instead. */
  readonly listen: string;
  stop(): Promise<void>;
}

/** Starts the broker on `listenPort`, telling clients to connect to `advertise` (a proxy in front of it). */
export async function startOwnBroker({ listenPort, advertise }: { listenPort: number; advertise: string }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'own-kafka-'));
  const listen = `127.0.0.1:${listenPort}`;
  const stop = async () => {
    await stopKafkaNode(dir);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await startKafkaNode({ dir, listen, advertise, controllerPort: await freePort() }, () => {});
  } catch (error) {
    await stop();
    throw error;
  }
  return { listen, stop } satisfies OwnBroker;
}
