import type { Admin, Kafka } from 'kafkajs';
import pTimeout from 'p-timeout';
import type pg from 'pg';
import { Gauge } from 'prom-client';
import type { Channel } from '../events/index.js';
import type { GatewayMetrics } from '../metrics.js';

/** A consumer group and the topics it reads, as its consumer was made. */
export interface WatchedGroup {
  groupId: string;
  topics: string[];
  channel: Channel;
  /** A retry group: its lag is the channel's retry backlog. */
  retry: boolean;
}

/** A scrape that cannot reach Kafka or PostgreSQL answers with what it has rather than hang the scraper. */
const SCRAPE_TIMEOUT_MS = 2000;
/** Within one scrape the gauges ask at once; a second scrape this soon (two scrapers) is given the same answer. */
const MEASUREMENT_REUSE_MS = 1000;

interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

/** What a group has still to read on one partition: the end of the log less the group's committed offset. */
async function lagOf(admin: Admin, { groupId, topics }: WatchedGroup): Promise<PartitionLag[]> {
  const [committed, ends] = await Promise.all([
    admin.fetchOffsets({ groupId, topics }),
    Promise.all(topics.map(async (topic) => ({ topic, partitions: await admin.fetchTopicOffsets(topic) }))),
  ]);
  return ends.flatMap(({ topic, partitions }) => {
    const offsets = committed.find((c) => c.topic === topic)?.partitions ?? [];
    return partitions.map(({ partition, high, low }) => {
      const done = Number(offsets.find((p) => p.partition === partition)?.offset ?? -1);
      // -1: the group has committed nothing yet here, and reads from the beginning (what is still retained).
      return { topic, partition, lag: Math.max(0, Number(high) - (done < 0 ? Number(low) : done)) };
    });
  });
}

/**
 * The backlog, computed at each scrape: consumer lag per group and partition, each channel's retry backlog (the lag
 * of its retry group) and dead letters waiting for an operator. Registered by the worker, which knows its groups.
 */
export function registerBacklogMetrics(
  { registry }: GatewayMetrics,
  { kafka, pool, groups }: { kafka: Kafka; pool: pg.Pool; groups: WatchedGroup[] },
): { close(): Promise<void> } {
  const admin = kafka.admin();
  let connected: Promise<void> | undefined;
  const connect = () =>
    (connected ??= admin.connect().catch((error: unknown) => {
      connected = undefined;
      throw error;
    }));
  const registers = [registry];

  // One measurement per scrape, shared by the three gauges below (prom-client collects them side by side).
  let measuring: { at: number; result: Promise<Array<{ group: WatchedGroup; lag: PartitionLag[] }>> } | undefined;
  const measure = () => {
    if (!measuring || Date.now() - measuring.at > MEASUREMENT_REUSE_MS) {
      const result = pTimeout(
        connect().then(() => Promise.all(groups.map(async (group) => ({ group, lag: await lagOf(admin, group) })))),
        { milliseconds: SCRAPE_TIMEOUT_MS },
      ).catch(() => []);
      measuring = { at: Date.now(), result };
    }
    return measuring.result;
  };
  const sum = (lag: PartitionLag[]) => lag.reduce((total, p) => total + p.lag, 0);

  new Gauge({
    name: 'gateway_consumer_lag',
    help: 'Records a consumer group has still to read, per topic and partition',
    labelNames: ['group', 'topic', 'partition'],
    registers,
    async collect() {
      const measured = await measure();
      this.reset();
      for (const { group, lag } of measured)
        for (const { topic, partition, lag: n } of lag)
          this.set({ group: group.groupId, topic, partition: String(partition) }, n);
    },
  });
  new Gauge({
    name: 'gateway_consumer_lag_total',
    help: 'Records a consumer group has still to read, over all its partitions',
    labelNames: ['group'],
    registers,
    async collect() {
      const measured = await measure();
      this.reset();
      for (const { group, lag } of measured) this.set({ group: group.groupId }, sum(lag));
    },
  });
  new Gauge({
    name: 'gateway_retry_depth',
    help: "Records waiting in a channel's retry topics (its retry group's lag)",
    labelNames: ['channel'],
    registers,
    async collect() {
      const measured = await measure();
      this.reset();
      for (const { group, lag } of measured) if (group.retry) this.inc({ channel: group.channel }, sum(lag));
    },
  });
  const channels = [...new Set(groups.map((g) => g.channel))];
  new Gauge({
    name: 'gateway_dlq_depth',
    help: 'Dead letters waiting for an operator (pending), by channel',
    labelNames: ['channel'],
    registers,
    async collect() {
      const { rows } = await pTimeout(
        pool.query<{ channel: string; n: number }>(
          `SELECT channel, count(*)::int AS n FROM dead_letters WHERE status = 'pending' GROUP BY channel`,
        ),
        { milliseconds: SCRAPE_TIMEOUT_MS },
      ).catch(() => ({ rows: undefined }));
      if (!rows) return;
      for (const channel of channels) this.set({ channel }, rows.find((r) => r.channel === channel)?.n ?? 0);
    },
  });
  return { close: () => admin.disconnect() };
}
