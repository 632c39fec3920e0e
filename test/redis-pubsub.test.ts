import { once } from 'node:events';
import { setImmediate as tick } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedis, pubSubClient } from '../src/net/redis.js';
import { testConfig, uniquePrefix } from './helpers/kafka.js';
import { waitFor } from './helpers/wait-for.js';

const REDIS_URL = testConfig(uniquePrefix('pubsub')).REDIS_URL;

describe('the pub/sub clients handed to Socket.IO’s Redis adapter', () => {
  const open: Array<{ disconnect(): void }> = [];
  afterEach(() => {
    for (const client of open.splice(0)) client.disconnect();
  });

  it('carry messages as plain clients do', async () => {
    const base = createRedis(REDIS_URL);
    const sub = pubSubClient(base, () => {});
    const pub = pubSubClient(base, () => {});
    open.push(base, sub, pub);
    const channel = `${uniquePrefix('pubsub')}alerts`;
    await sub.subscribe(channel);
    const received = once(sub, 'message');
    await pub.publish(channel, 'hello');
    expect(await received).toEqual([channel, 'hello']);
  });

  it('report a command that failed, where the adapter drops its promise, instead of stopping the process', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const base = createRedis(REDIS_URL);
      open.push(base);
      const failures: string[] = [];
      const sub = pubSubClient(base, (error, command) => failures.push(`${command}: ${(error as Error).message}`));
      // As the adapter does when the api stops just after it started: sent, not awaited, and the connection closed.
      void sub.psubscribe('gateway#*');
      void sub.subscribe('gateway-request#');
      sub.disconnect();
      await waitFor('both failures reported', () => failures.length === 2);
      await tick();
      await tick();
      expect(failures.sort()).toEqual(['psubscribe: Connection is closed.', 'subscribe: Connection is closed.']);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
