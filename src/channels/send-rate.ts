import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import pLimit from 'p-limit';
import type { Histogram } from 'prom-client';
import { RedisSlidingWindowRateLimiter, type Redis as LimiterRedis } from 'sliding-window-rate-limiter';
import { DeliveryError, type ChannelAdapter, type OutboundMessage, type SendOptions } from './channel.js';

export interface SendRateOptions {
  /** The provider's sender (a long code, a WhatsApp number, an email address): the limit is the sender's, not ours. */
  sender: string;
  perSecond: number;
  /** Shared by every worker: the window lives there, counted on Redis's clock. */
  redis: Redis;
  /**
   * Added to the one-second window. The provider counts requests as they reach it, and one request may spend longer
   * on the way than the next: a window a little longer than a second keeps any second of arrivals within the rate.
   */
  marginMs: number;
  /** Aborted when the worker stops: a send still waiting for its turn gives up, unsent, and is retried later. */
  signal: AbortSignal;
  waitSeconds?: Pick<Histogram<'channel'>, 'observe'>;
}

const KEY_PREFIX = 'gateway:send-rate:';

/**
 * A sender's rate, held across workers: each send reserves its place in the sender's sliding window (a sorted set of
 * send times in Redis, on Redis's clock) and, when the place is taken, waits until it frees. Sends wait in order, one
 * at a time asking Redis per process; only sends count (a look-up for an earlier copy is not a message).
 */
export function withSendRate(adapter: ChannelAdapter, options: SendRateOptions): ChannelAdapter {
  // Evenly spaced rather than in bursts: one send per 1/rate of the window, so no window of that length holds more than
  // the rate. Bursts of sends at once reach the provider spread out by their own contention, which a margin cannot
  // bound; spaced sends do not compete.
  const limiter = new RedisSlidingWindowRateLimiter({
    redis: options.redis as unknown as LimiterRedis,
    // Whole milliseconds (the window's key expires after as many seconds, and Redis takes only integers), rounded up:
    // never faster than the rate.
    interval: Math.ceil((1_000 + options.marginMs) / options.perSecond),
    operationTimeout: 2_000,
  });
  const key = `${KEY_PREFIX}${options.sender}`;
  const inTurn = pLimit(1);

  async function reserveTurn(): Promise<void> {
    for (;;) {
      if (options.signal.aborted) throw stopped();
      const reserved = await limiter.reserve(key, 1).catch((error: unknown) => {
        // Without the window we cannot know the rate is kept: not sent, and retried like any failure before the send.
        throw new DeliveryError(`the send rate of ${options.sender} could not be read`, 'SEND_RATE_UNAVAILABLE', true, {
          cause: error,
        });
      });
      if (reserved.token) return;
      await sleep(Math.max(1, reserved.reset ?? 10), undefined, { signal: options.signal }).catch(() => {
        throw stopped();
      });
    }
  }

  /**
   * The look again before a send, once its turn is ours, however long it took (a message withdrawn leaves its place
   * in the window unused). Turns keep the rate only if each send follows its turn closely, as the margin allows for
   * the way to the provider: a slow look (a busy database) would land this send on the next one's. It then takes the
   * next free turn, ahead of the queue, and goes without looking again: it just did.
   */
  async function lookAgain(beforeSend: () => Promise<void>): Promise<void> {
    const startedAt = performance.now();
    await beforeSend();
    if (performance.now() - startedAt > lookBudgetMs) await reserveTurn();
  }
  // Half the margin: the other half is for the request's own way to the provider (a few ms even with no margin).
  const lookBudgetMs = Math.max(5, options.marginMs / 2);

  const findSent = adapter.findSent?.bind(adapter);
  return {
    channel: adapter.channel,
    ...(findSent && { findSent }),
    async send(message: OutboundMessage, sendOptions?: SendOptions) {
      const queuedAt = performance.now();
      await inTurn(reserveTurn);
      options.waitSeconds?.observe({ channel: adapter.channel }, (performance.now() - queuedAt) / 1000);
      if (sendOptions?.beforeSend) await lookAgain(sendOptions.beforeSend);
      return adapter.send(message);
    },
    close: () => adapter.close(),
  };
}

const stopped = () =>
  new DeliveryError('the worker stopped while this send waited for its turn; not sent', 'SEND_RATE_STOPPED', true);
