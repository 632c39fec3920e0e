import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from '../logger.js';
import { createKafka } from './client.js';

/** Whether the brokers answer, for `/readyz`: one admin connection kept open and asked for the cluster each time. */
export interface KafkaProbe {
  answers(): Promise<boolean>;
  close(): Promise<void>;
}

/** A probe on a client of its own, named `<clientId>-readiness`. */
export function kafkaProbeFor(brokers: string[], clientId: string, logger: Logger): KafkaProbe {
  return createKafkaProbe(createKafka({ brokers, clientId: `${clientId}-readiness`, logger, retry: { retries: 0 } }));
}

/**
 * `kafka` should be made for the probe alone, without retries (`retry: { retries: 0 }`): a readiness check must say
 * "no" within its deadline, not wait out kafkajs' reconnect backoff. A failed question drops the connection, so the
 * next one connects afresh once the broker is back.
 */
export function createKafkaProbe(kafka: Kafka): KafkaProbe {
  let admin: Admin | undefined;
  return {
    async answers() {
      try {
        if (!admin) {
          admin = kafka.admin();
          await admin.connect();
        }
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0 && cluster.controller !== null;
      } catch {
        const broken = admin;
        admin = undefined;
        await broken?.disconnect().catch(() => {});
        return false;
      }
    },
    async close() {
      await admin?.disconnect().catch(() => {});
      admin = undefined;
    },
  };
}
