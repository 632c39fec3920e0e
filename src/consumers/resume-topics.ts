import type { Consumer } from 'kafkajs';
import type { Logger } from '../logger.js';

/**
 * Resumes every topic of a consumer that a breaker or an outage paused. kafkajs refuses (it throws "Consumer group
 * was not initialized") while it is restarting a consumer that gave up after its retries; the consumer it starts
 * again begins unpaused, so there is nothing to resume then. Thrown from a breaker's or the outage gate's listener,
 * that refusal would be an uncaught error and stop the whole process.
 */
export function resumeTopics(consumer: Consumer | undefined, topics: readonly string[], log: Pick<Logger, 'info'>) {
  try {
    consumer?.resume(topics.map((topic) => ({ topic })));
  } catch (error) {
    log.info({ err: error }, 'nothing to resume: kafkajs is restarting the consumer, which starts unpaused');
  }
}
