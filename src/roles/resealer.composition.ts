import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config.js';
import { createPool } from '../db/pool.js';
import type { Logger } from '../logger.js';
import { createResealer } from '../store/resealer.js';
import { fieldCipherOf } from '../util/field-cipher.js';
import type { Role } from './role.js';

/** After a failure (the database away, say), the walk starts again this much later: sealed rows are not read again. */
const RETRY_MS = 30_000;

/**
 * Seals, in the background of an api process, what is stored plain or under an older data key (store/resealer.ts).
 * It never holds up the start; a stop interrupts it between batches, and the next start carries on.
 */
export function startResealing(config: Config, logger: Logger, { retryMs = RETRY_MS } = {}): Role {
  const log = logger.child({ component: 'resealer' });
  const pool = createPool(config.DATABASE_URL, log, 1);
  const resealer = createResealer({ pool, cipher: fieldCipherOf(config), logger: log });
  const stopping = new AbortController();
  const done = (async () => {
    while (!stopping.signal.aborted) {
      try {
        const counts = await resealer.run(stopping.signal);
        if (Object.values(counts).some((n) => n > 0))
          log.info({ counts }, 'stored data sealed with the current data key');
        return;
      } catch (error) {
        log.warn({ err: error, retryInMs: retryMs }, 'sealing stored data failed; trying again later');
        await sleep(retryMs, undefined, { signal: stopping.signal }).catch(() => {});
      }
    }
  })();
  return {
    name: 'resealer',
    urls: {},
    async stop() {
      stopping.abort();
      await done;
      await pool.end();
    },
  };
}
