import { EventEmitter } from 'node:events';
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { OutageGate } from './outage-gate.js';
import { CONTINUE, runPaced } from './paced-runner.js';
import { RecordHandedOverError } from './record-faults.js';

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

  it("a rebalance heard inside a record is neither an outage nor the record's fault: the member rejoins", async () => {
    const kafka = fakeConsumer();
    const trips: unknown[] = [];
    const poisoned: string[] = [];
    const outages = { trip: (error: unknown) => trips.push(error) } as unknown as OutageGate;
    const rebalancing = Object.assign(new Error('The group is rebalancing, so a rejoin is needed'), {
      name: 'KafkaJSProtocolError',
      type: 'REBALANCE_IN_PROGRESS',
    });
    let rebalances = 12;
    await runPaced(
      kafka.consumer,
      ['t'],
      async (_record, _message, heartbeat) => {
        await heartbeat();
        return CONTINUE;
      },
      { outages, onPoison: async (record) => void poisoned.push(record.offset) },
    );
    const heartbeat = async () => {
      if (rebalances-- > 0) throw rebalancing;
    };
    // More rebalances in a row than any record may fail before it is dead-lettered.
    for (let i = 0; i < 12; i += 1) {
      await expect(kafka.fetch(['0'], heartbeat)).rejects.toBe(rebalancing);
      kafka.emit('group_join');
    }
    expect(trips).toEqual([]);
    expect(poisoned).toEqual([]);
    expect(await kafka.fetch(['0'], heartbeat)).toEqual(['0']);
  });
});

describe('paced runner hand-over', () => {
  it('tells the records in flight when a rebalance begins, and a record handed over is never counted as its fault', async () => {
    const kafka = fakeConsumer();
    const signals: AbortSignal[] = [];
    let release: () => void = () => {};
    const poisoned: string[] = [];
    await runPaced(
      kafka.consumer,
      ['t'],
      async (record, _message, _heartbeat, handOver) => {
        signals.push(handOver);
        if (record.offset !== '0') return CONTINUE;
        await new Promise<void>((resolve) => (release = resolve)); // a send waiting for a connection
        if (handOver.aborted) throw new RecordHandedOverError();
        return CONTINUE;
      },
      { onPoison: async (record) => void poisoned.push(record.offset) },
    );
    // More rebalances than any fault is allowed before its record is dead-lettered.
    for (let rebalance = 0; rebalance < 12; rebalance += 1) {
      signals.length = 0;
      // Record 0 waits; the heartbeat after record 1 is refused: the group is rebalancing.
      const batch = kafka.fetch(['0', '1'], async () => Promise.reject(new Error('The group is rebalancing')));
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(signals[0]!.aborted).toBe(true);
      release();
      await expect(batch).rejects.toThrow('rebalancing');
      kafka.emit('group_join');
    }
    expect(poisoned).toEqual([]);

    // Rejoined: a fresh signal, and the record is handled and settled.
    signals.length = 0;
    const settled = kafka.fetch(['0'], async () => {});
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(signals[0]!.aborted).toBe(false);
    release();
    expect(await settled).toEqual(['0']);
  });

  it('hands over at a stop', async () => {
    const kafka = fakeConsumer();
    const stopping = new AbortController();
    let seen: AbortSignal | undefined;
    await runPaced(
      kafka.consumer,
      ['t'],
      async (_record, _message, _heartbeat, handOver) => {
        seen = handOver;
        return CONTINUE;
      },
      { stopping: stopping.signal },
    );
    await kafka.fetch(['0'], async () => {});
    expect(seen!.aborted).toBe(false);
    stopping.abort();
    expect(seen!.aborted).toBe(true);
  });
});
