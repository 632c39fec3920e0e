import type { Logger } from '../logger.js';
import type { GatewayEvent } from '../events/index.js';
import type { DisruptedVehicle, StatusWebhooksRepository } from '../store/status-webhooks.repository.js';
import { keyDigest } from '../util/key-digest.js';

/**
 * The api's side of status webhooks: at ingestion, notes which key sent an event, for the keys that have a webhook
 * (a row per event, before RabbitMQ has it, so its deliveries' status changes find it). Which keys have one is read
 * every `refreshMs` and at once on registration here, so a key's events cost nothing until it has a webhook; another
 * api node sees a new registration within `refreshMs`.
 */
export function createEventSources({
  webhooks,
  logger,
  refreshMs = 5_000,
}: {
  webhooks: StatusWebhooksRepository;
  logger: Logger;
  refreshMs?: number;
}) {
  let watched = new Set<string>();
  const refresh = () =>
    webhooks.keysWithWebhooks().then(
      (keys) => {
        watched = keys;
      },
      (error: unknown) => logger.warn({ err: error }, 'keys with status webhooks not read; keeping the last known'),
    );
  const loaded = refresh();
  const timer = setInterval(() => void refresh(), refreshMs);
  timer.unref();

  return {
    /** Throws when PostgreSQL does not take the note: the caller then accepts nothing. */
    async record(event: GatewayEvent, apiKey: string): Promise<void> {
      await loaded;
      const digest = keyDigest(apiKey);
      if (watched.has(digest)) await webhooks.recordSource(event.eventId, digest, disruptedVehicle(event));
    },
    /** A webhook was just registered on this node for the key with this digest. */
    watch(digest: string): void {
      watched.add(digest);
    },
    close(): void {
      clearInterval(timer);
    },
  };
}

export type EventSources = ReturnType<typeof createEventSources>;

/** What a disruption is about, as the recipients' look-up reads it (a flight number wins over a train number). */
function disruptedVehicle(event: GatewayEvent): DisruptedVehicle | undefined {
  if (event.eventType !== 'TRAVEL_DISRUPTION') return undefined;
  const { flightNumber, trainNumber, journeyDate } = event;
  return flightNumber
    ? { kind: 'flight', number: flightNumber, journeyDate }
    : { kind: 'train', number: trainNumber!, journeyDate };
}
