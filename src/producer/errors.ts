/** Kafka did not acknowledge an event within the producer's retry budget. */
export class PublishError extends Error {
  readonly code = 'PUBLISH_FAILED';
  /** The broker may come back: the caller can try again later (the bridge requeues, a booking flow may not). */
  readonly retriable = true;
  constructor(
    message: string,
    readonly eventIds: string[],
    options: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'PublishError';
  }
}
