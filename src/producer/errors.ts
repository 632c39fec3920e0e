import { GatewayError } from '../errors/gateway-error.js';

/** Kafka did not acknowledge an event within the producer's retry budget. */
export class PublishError extends GatewayError<'PUBLISH_FAILED'> {
  constructor(
    message: string,
    readonly eventIds: string[],
    options: { cause: unknown },
  ) {
    // The broker may come back: the caller can try again later (the bridge requeues, a booking flow may not).
    super(message, { code: 'PUBLISH_FAILED', retriable: true, ...options });
    this.name = 'PublishError';
  }
}
