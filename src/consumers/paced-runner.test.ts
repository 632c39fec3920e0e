import { EventEmitter } from 'node:events';
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { CONTINUE, runPaced } from './paced-runner.js';

/**
 * The runner's own bookkeeping, driven as kafkajs drives it: the broker cases (frozen for less or more than a session)
 * are in test/faults/kafka-stalls.test.ts. This is the case no broker here produces on demand: a heartbeat that fails
 * once inside a batch, after which kafkajs fetches again without a rejoin, and heartbeats succeed.
 */
function fakeConsumer() {
  const emitter = new EventEmitter();
  let eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
  const consumer = {
    events: { GROUP_JOIN: 'group_join', HEARTBEAT: 'heartbeat', STOP: 'stop' },
    on: (event: string, listener: (...args: unknown[]) => void) => emitter.on(event, listener),
    run: async (config: { eachBatch: typeof eachBatch }) => {
      eachBatch = config.eachBatch;
    },
    pause: () => {},
    resume: () => {},
    seek: () => {},
  };
  return {
    consumer: consumer as unknown as Consumer,
    emit: (event: string) => emitter.emit(event, {}),
    /** One fetch of these offsets, with the heartbeat kafkajs would hand over; the offsets resolved come back. */
    async fetch(offsets: string[], heartbeat: () => Promise<void>): Promise<string[]> {
      const resolved: string[] = [];
      const messages = offsets.map((offset) => ({ offset, key: Buffer.from(`k${offset}`), value: null }));
      await eachBatch!({
        batch: { topic: 't', partition: 0, messages: messages as unknown as KafkaMessage[] },
        resolveOffset: (offset: string) => resolved.push(offset),
        heartbeat,
        isRunning: () => true,
        isStale: () => false,
        commitOffsetsIfNecessary: async () => {},
      } as unknown as EachBatchPayload);
      return resolved;
    },
  };
}

describe('paced runner after a failed heartbeat', () => {
  it('handles records again once a heartbeat succeeds, though the member never rejoined', async () => {
    const kafka = fakeConsumer();
    const handled: string[] = [];
    await runPaced(kafka.consumer, ['t'], async (record) => {
      handled.push(record.offset);
      return CONTINUE;
    });
    let failOnce = true;
    const flaky = async () => {
      if (failOnce) {
        failOnce = false;
        throw new Error('The coordinator is not available');
      }
    };
    // The first record is handled, its heartbeat fails: the batch stops and fails, kafkajs will fetch again.
    await expect(kafka.fetch(['0'], flaky)).rejects.toThrow('coordinator');
    expect(handled).toEqual(['0']);

    // kafkajs got past it without a rejoin: its next heartbeat, between fetches, succeeded.
    kafka.emit('heartbeat');
    const resolved = await kafka.fetch(['1', '2'], async () => {});
    expect(handled).toEqual(['0', '1', '2']);
    expect(resolved.at(-1)).toBe('2');
  });

  it('starts nothing new while the member is rejoining, and goes on once it has joined', async () => {
    const kafka = fakeConsumer();
    const handled: string[] = [];
    await runPaced(kafka.consumer, ['t'], async (record) => {
      handled.push(record.offset);
      return CONTINUE;
    });
    await expect(
      kafka.fetch(['0'], async () => Promise.reject(new Error('The group is rebalancing'))),
    ).rejects.toThrow();
    expect(await kafka.fetch(['1'], async () => {})).toEqual([]);
    expect(handled).toEqual(['0']);
    kafka.emit('group_join');
    await kafka.fetch(['1'], async () => {});
    expect(handled).toEqual(['0', '1']);
  });
});
