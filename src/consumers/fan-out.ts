import type { KafkaMessage, Producer } from 'kafkajs';
import type { TravellerPart } from '../store/itineraries.repository.js';
import type { FailedRecord } from './dead-letters.js';
import { originHeaders } from './retry-record.js';

const PART_HEADER = 'x-fan-out-part';

/**
 * A disruption for a full train is thousands of deliveries, and the event topic gives the whole record to one member of
 * the channel's group. Split into parts, one per partition of the channel's fan-out topic, the travellers are shared by
 * every member: each part delivers to the travellers whose user id falls in its bucket. A traveller is always in the
 * same bucket, so two notices of one journey reach them in order (each part keeps its journey's key, per partition).
 *
 * A part carries the event unchanged, where it came from and when the gateway took it in: supersede and the dead
 * letters see the disruption as it was on the event topic. Written again (the record read twice after a crash), a part
 * meets the claims its first copy settled, and sends nothing twice.
 */
export function createFanOut({ producer, topic, parts }: { producer: Producer; topic: string; parts: number }) {
  return {
    topic,
    async split(record: FailedRecord, ingestedAt: Date): Promise<void> {
      const origin = originHeaders({
        original: { topic: record.topic, partition: record.partition, offset: record.offset, key: record.key },
        ingestedAt,
      });
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: parts }, (_, index) => ({
          partition: index,
          key: `${record.key ?? ''}#${index}`,
          value: record.value,
          headers: { ...origin, [PART_HEADER]: `${index}/${parts}` },
        })),
      });
    },
  };
}

export type FanOut = ReturnType<typeof createFanOut>;

/**
 * The part a fan-out record delivers; undefined for a record without a readable one (written by hand), which then
 * delivers to every traveller, as the event itself would.
 */
export function partOf(message: Pick<KafkaMessage, 'headers'>): TravellerPart | undefined {
  const raw = message.headers?.[PART_HEADER];
  const text = (Array.isArray(raw) ? raw[0] : raw)?.toString();
  const match = text && /^(\d{1,3})\/(\d{1,3})$/.exec(text);
  if (!match) return undefined;
  const [index, count] = [Number(match[1]), Number(match[2])];
  return count >= 1 && index < count ? { index, count } : undefined;
}
