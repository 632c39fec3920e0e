import { Partitioners, type Kafka, type Producer, type ProducerConfig } from 'kafkajs';

/**
 * The one way the gateway produces: idempotent with one request in flight, so the broker drops retried duplicates
 * and keeps per-key order, and the Java client's partitioner, so a PNR lands on the same partition as from the
 * operator's Java producers. Callers add what is theirs (a retry budget, no topic auto-creation).
 */
export function createIdempotentProducer(
  kafka: Kafka,
  options: Omit<ProducerConfig, 'idempotent' | 'maxInFlightRequests' | 'createPartitioner'> = {},
): Producer {
  return kafka.producer({
    ...options,
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}
