/**
 * The channels part's publisher: booking confirmations kept about two seconds of deliveries ahead of the ledger, so
 * the one channel loaded always has work waiting and never runs dry, yet leaves no backlog behind. An open loop above
 * the channel's limit (the sustained mix's way) would leave minutes of records published but never delivered within
 * the phase, and charge the bench's and Kafka's CPU for them to the deliveries that were.
 */
import { randomUUID } from 'node:crypto';
import type { GatewayEventInput } from '../../../src/events/index.js';
import type { EventProducer } from '../../../src/producer/event-producer.js';
import type { createEventFactory } from './mix.js';
import type { Traveller } from './travellers.js';
import { sleep } from './timing.js';

const TICK_MS = 50;
const MAX_BATCH = 1_000;
/** Deliveries kept waiting: this many seconds at the rate seen, within the bounds below. */
const AHEAD_S = 2;
/** Above a worker group's records in flight (WORKER_CONCURRENCY, 64), so that a cold start is not starved either. */
const MIN_AHEAD = 300;
const MAX_AHEAD = 10_000;
/** How far back the rate that sizes the lead is taken. */
const RATE_WINDOW_MS = 2_000;

export interface BoundedLoadOptions {
  producer: EventProducer;
  factory: ReturnType<typeof createEventFactory>;
  /** Who gets the confirmations, in turn. */
  travellers: Traveller[];
  seconds: number;
  /** The channel's settled deliveries as last counted (polled elsewhere, read every tick). */
  settled(): number;
  /** Called for every event just before it is published. */
  onEvent(eventId: string, traveller: Traveller): void;
}

export interface BoundedLoadResult {
  published: number;
  failed: number;
  firstError?: string;
  /** The largest lead the publisher kept (deliveries published, not yet settled). */
  maxAhead: number;
}

/** Each event makes one delivery on every channel its routing names: on the channel loaded alone, exactly one. */
export async function runBoundedLoad(options: BoundedLoadOptions): Promise<BoundedLoadResult> {
  const { producer, factory, travellers, seconds, settled, onEvent } = options;
  const result: BoundedLoadResult = { published: 0, failed: 0, maxAhead: 0 };
  const history: Array<{ at: number; settled: number }> = [];
  const started = performance.now();
  let cursor = 0;
  while (performance.now() - started < seconds * 1000) {
    const now = performance.now();
    const done = settled();
    history.push({ at: now, settled: done });
    while (history.length > 1 && now - history[0]!.at > RATE_WINDOW_MS) history.shift();
    const rate = (done - history[0]!.settled) / Math.max(0.001, (now - history[0]!.at) / 1000);
    const ahead = Math.min(MAX_AHEAD, Math.max(MIN_AHEAD, rate * AHEAD_S));
    const due = Math.min(MAX_BATCH, Math.floor(done + ahead - result.published));
    if (due > 0) {
      const stamp = new Date().toISOString();
      const events: GatewayEventInput[] = [];
      for (let i = 0; i < due; i += 1) {
        const traveller = travellers[cursor++ % travellers.length]!;
        const event = { ...factory.confirmation(traveller, stamp), eventId: randomUUID() };
        onEvent(event.eventId, traveller);
        events.push(event);
      }
      try {
        await producer.publishMany(events);
        result.published += events.length;
      } catch (error) {
        result.failed += events.length;
        result.firstError ??= error instanceof Error ? error.message : String(error);
      }
      result.maxAhead = Math.max(result.maxAhead, result.published - done);
    }
    await sleep(TICK_MS - (performance.now() - now));
  }
  return result;
}
