import type { Config } from '../config.js';
import { createWorker } from './worker.composition.js';
import type { Logger } from '../logger.js';
import type { Role, RoleDeps } from './role.js';

/**
 * Consumes the event topics and delivers on the configured channels (WORKER_CHANNELS). Delivery outcomes and latency
 * are counted where the deliveries happen, in this process (served with METRICS_PORT, or by an api beside it).
 */
export async function startWorker(config: Config, logger: Logger, { metrics }: RoleDeps): Promise<Role> {
  const worker = await createWorker({ config, logger, metrics });
  await worker.start();
  return {
    name: `worker (${config.WORKER_CHANNELS.join(', ')})`,
    urls: {},
    checks: worker.checks,
    breakers: worker.readBreakerStates,
    stop: () => worker.stop(),
  };
}
