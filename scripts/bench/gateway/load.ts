/**
 * The open-loop publisher: events go out on a fixed schedule whatever the gateway does with them (a closed loop
 * would slow down with the gateway and hide its limit). Every 20 ms it sends what the schedule says is due, with the
 * project's producer (publishMany), each event's eventTimestamp being the moment it is handed over.
 */
import { randomUUID } from 'node:crypto';
import type { EventType, GatewayEventInput } from '../../../src/events/index.js';
import type { EventProducer } from '../../../src/producer/event-producer.js';
import { zeroCounts, type ChannelCounts } from './ledger.js';
import { deliveriesOf, type Mix, type createEventFactory } from './mix.js';
import type { Traveller } from './travellers.js';
import { sleep } from './timing.js';

const TICK_MS = 20;
const MAX_BATCH = 2000;
/** publishMany calls in flight at once; past this the schedule slips and the slip is reported. */
const MAX_IN_FLIGHT = 16;

export interface LoadOptions {
  producer: EventProducer;
  factory: ReturnType<typeof createEventFactory>;
  mix: Mix;
  seconds: number;
  /** The trains disrupted in turn, one disruption a second, and who rides each (same index). */
  trains: string[];
  riders: Traveller[][];
  /** Called for every event just before it is published, with its recipients. */
  onEvent(eventId: string, at: number, recipients: Traveller[] | 'booking', event: GatewayEventInput): void;
}

export interface LoadResult {
  /** performance.now() of the first and last publish. */
  startedAt: number;
  endedAt: number;
  scheduled: number;
  published: number;
  failed: number;
  firstError?: string;
  byType: Partial<Record<EventType, number>>;
  /** Deliveries the published events should make, per channel (routing table × recipients). */
  expected: ChannelCounts;
  /** Most events that were due but not yet handed to the producer (it could not keep up). */
  maxBehind: number;
  eventsPerSec: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { producer, factory, mix, seconds, trains, riders, onEvent } = options;
  const result: LoadResult = {
    startedAt: performance.now(),
    endedAt: 0,
    scheduled: 0,
    published: 0,
    failed: 0,
    byType: {},
    expected: zeroCounts(),
    maxBehind: 0,
    eventsPerSec: 0,
  };
  const inFlight = new Set<Promise<void>>();
  const windowMs = seconds * 1000;
  let bookingsMade = 0;
  let disruptionsMade = 0;

  const count = (event: GatewayEventInput, recipients: number, sign: 1 | -1) => {
    const type = event.eventType as EventType;
    result.byType[type] = (result.byType[type] ?? 0) + sign;
    for (const [channel, n] of Object.entries(deliveriesOf(type, recipients)))
      result.expected[channel as keyof ChannelCounts] += sign * n!;
  };

  const send = (batch: Array<{ event: GatewayEventInput; recipients: number }>) => {
    const publishing = producer.publishMany(batch.map((b) => b.event)).then(
      () => void (result.published += batch.length),
      (error: unknown) => {
        result.failed += batch.length;
        result.firstError ??= error instanceof Error ? error.message : String(error);
        for (const b of batch) count(b.event, b.recipients, -1);
      },
    );
    inFlight.add(publishing);
    void publishing.finally(() => inFlight.delete(publishing));
  };

  for (;;) {
    const elapsed = performance.now() - result.startedAt;
    if (elapsed >= windowMs) break;
    const dueBookings =
      Math.floor((mix.bookingEventsPerSec * Math.min(elapsed + TICK_MS, windowMs)) / 1000) - bookingsMade;
    const dueDisruption = Math.floor(elapsed / 1000) + 1 > disruptionsMade && riders.some((r) => r.length > 0);
    result.maxBehind = Math.max(result.maxBehind, dueBookings);
    if (inFlight.size < MAX_IN_FLIGHT && (dueBookings > 0 || dueDisruption)) {
      const at = Date.now();
      const stamp = new Date(at).toISOString();
      const batch: Array<{ event: GatewayEventInput; recipients: number }> = [];
      if (dueDisruption) {
        const train = disruptionsMade % trains.length;
        const event = { ...factory.disruption(trains[train]!, stamp), eventId: randomUUID() };
        onEvent(event.eventId, at, riders[train] ?? [], event);
        batch.push({ event, recipients: riders[train]?.length ?? 0 });
        disruptionsMade += 1;
      }
      for (let i = 0; i < Math.min(dueBookings, MAX_BATCH); i += 1) {
        const event = { ...factory.booking(stamp), eventId: randomUUID() };
        onEvent(event.eventId, at, 'booking', event);
        batch.push({ event, recipients: 1 });
        bookingsMade += 1;
      }
      for (const b of batch) count(b.event, b.recipients, 1);
      result.scheduled += batch.length;
      send(batch);
    }
    await sleep(TICK_MS - ((performance.now() - result.startedAt) % TICK_MS));
  }
  // What the producer still holds is awaited, bounded: a broker that stopped answering must not hang the run.
  await Promise.race([Promise.all(inFlight), sleep(30_000)]);
  result.endedAt = performance.now();
  result.eventsPerSec = Math.round((result.published / seconds) * 10) / 10;
  return result;
}
