import type { KafkaMessage } from 'kafkajs';
import type { RetryEnvelope } from './retry-record.js';

/**
 * When the gateway took a record in: what decides which of two disruptions is newer, never the event's own
 * `eventTimestamp`, which is whatever the sender's clock (or wish) said.
 *
 * On an event topic it is the record's Kafka timestamp: the broker's append time on the topics the gateway creates
 * (`message.timestamp.type=LogAppendTime`, see kafka/topics.ts), else the time the gateway's producer (the bridge, the
 * producer library) wrote it. A producer of its own may write any timestamp on a topic made before, so none is taken as
 * later than the moment the gateway reads it. A retry or a replay carries the first one in its envelope, so a notice
 * written again later is still as old as it was; a retry from before the envelope carried it counts from its first
 * failure, the closest time it knows.
 */
export function ingestTimeOf(message: Pick<KafkaMessage, 'timestamp'>, envelope?: RetryEnvelope): Date {
  if (envelope) return envelope.ingestedAt ?? envelope.firstFailedAt;
  const stamped = Number(message.timestamp);
  const now = Date.now();
  return new Date(Number.isFinite(stamped) && stamped > 0 ? Math.min(stamped, now) : now);
}
