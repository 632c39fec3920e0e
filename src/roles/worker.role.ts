import type { Config } from '../config.js';
import { createWorker } from '../consumers/worker.js';
import type { Logger } from '../logger.js';
import type { Role } from './role.js';

/** Consumes the event topics and delivers on the configured channels (WORKER_CHANNELS). */
export async function startWorker(config: Config, logger: Logger): Promise<Role> {
  const worker = await createWorker({ config, logger });
  await worker.start();
  return { name: `worker (${config.WORKER_CHANNELS.join(', ')})`, urls: {}, stop: () => worker.stop() };
}
