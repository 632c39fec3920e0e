import CircuitBreaker from 'opossum';
import type { Channel } from '../events/index.js';
import type { Logger } from '../logger.js';
import { asLookupFailure, DeliveryError, type ChannelAdapter, type OutboundMessage } from './channel.js';

/** The provider behind each channel; SMS and WhatsApp share Twilio, so one outage opens one breaker for both. */
export const PROVIDER_OF: Record<Channel, string> = {
  email: 'smtp',
  sms: 'twilio',
  whatsapp: 'twilio',
  websocket: 'realtime',
};

export type BreakerState = 'closed' | 'open' | 'halfOpen';

/** A send refused because the provider's breaker is open: the channel pauses instead of burning retries. */
export class CircuitOpenError extends DeliveryError {
  constructor(provider: string) {
    super(`circuit open for ${provider}`, 'CIRCUIT_OPEN', true);
    this.name = 'CircuitOpenError';
  }
}

export interface BreakerOptions {
  /** How long an open breaker waits before letting one trial send through. */
  resetTimeoutMs?: number;
  /** Failures (as a share of sends in the rolling window) that open it. */
  errorThresholdPercentage?: number;
  /** Sends in the window before it may open at all. */
  volumeThreshold?: number;
  /** A call that takes longer fails (a transient failure) and counts towards opening the breaker. */
  callTimeoutMs?: number;
}

/**
 * One opossum breaker per provider. Only transient failures count: an invalid phone number says nothing about
 * Twilio's health; a refusal of our account (`providerWide`) opens it at once. `onStateChange` lets consumers pause
 * and resume, and health and metrics report the state.
 */
export function createBreakers(logger: Logger, options: BreakerOptions = {}) {
  // One action for every call to the provider (a send, or asking whether it has a message): the call itself.
  const breakers = new Map<string, CircuitBreaker<[() => Promise<unknown>], unknown>>();
  const listeners = new Set<(provider: string, state: BreakerState) => void>();
  const log = logger.child({ component: 'breaker' });

  function breakerFor(provider: string) {
    let breaker = breakers.get(provider);
    if (breaker) return breaker;
    breaker = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
      name: provider,
      // Adapters time out on their own, with the provider's own error; this is the backstop for a call that hangs
      // past that (a pool queue, a socket that never closes), so a provider that stops answering opens the breaker.
      timeout: options.callTimeoutMs ?? 45_000,
      resetTimeout: options.resetTimeoutMs ?? 5_000,
      errorThresholdPercentage: options.errorThresholdPercentage ?? 50,
      volumeThreshold: options.volumeThreshold ?? 5,
      rollingCountTimeout: 10_000,
      // Counted: transient failures, and calls that ran past the timeout above (opossum's own ETIMEDOUT).
      errorFilter: (error: unknown) =>
        !(error instanceof DeliveryError && error.retriable) && (error as { code?: string })?.code !== 'ETIMEDOUT',
    });
    const announce = (state: BreakerState) => () => {
      log.warn({ provider, state }, 'circuit breaker changed state');
      for (const listener of listeners) listener(provider, state);
    };
    breaker.on('open', announce('open'));
    breaker.on('halfOpen', announce('halfOpen'));
    breaker.on('close', announce('closed'));
    breakers.set(provider, breaker);
    return breaker;
  }

  return {
    /**
     * The adapter with every call to its provider going through the provider's breaker: sends, and the questions
     * asked before a send is repeated (while the provider is down, they fail as fast as the sends, and count too).
     */
    guard(adapter: ChannelAdapter): ChannelAdapter {
      const provider = PROVIDER_OF[adapter.channel];
      const breaker = breakerFor(provider);
      const fire = <T>(call: () => Promise<T>): Promise<T> =>
        (breaker.fire(call) as Promise<T>).catch((error: { code?: string }) => {
          if (error?.code === 'EOPENBREAKER') throw new CircuitOpenError(provider);
          // Our account refused: one answer says it of every message, so the breaker opens now rather than after a
          // window of them, and until it half-opens no record is read again only to be refused again.
          if (error instanceof DeliveryError && error.providerWide) breaker.open();
          // Ambiguous like any timeout: the provider may still take it, so the retry asks it first.
          if (error?.code === 'ETIMEDOUT' && !(error instanceof DeliveryError)) {
            throw new DeliveryError(
              `${provider} did not answer within ${options.callTimeoutMs ?? 45_000} ms`,
              'PROVIDER_TIMEOUT',
              true,
              { cause: error, ambiguous: true },
            );
          }
          throw error;
        });
      const findSent = adapter.findSent?.bind(adapter);
      return {
        channel: adapter.channel,
        close: () => adapter.close(),
        ...(findSent && {
          findSent: (message: OutboundMessage, since: Date) =>
            fire(() => findSent(message, since).catch((e: unknown) => Promise.reject(asLookupFailure(e)))),
        }),
        // The last look before the provider, when no wait for a turn took it already: outside the breaker, as a
        // message withdrawn says nothing of the provider's health.
        send: async (message, sendOptions) => {
          await sendOptions?.beforeSend?.();
          return fire(() => adapter.send(message));
        },
      };
    },
    state(provider: string): BreakerState {
      const breaker = breakers.get(provider);
      return !breaker || breaker.closed ? 'closed' : breaker.halfOpen ? 'halfOpen' : 'open';
    },
    states(): Record<string, BreakerState> {
      return Object.fromEntries([...breakers.keys()].map((p) => [p, this.state(p)]));
    },
    onStateChange(listener: (provider: string, state: BreakerState) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    shutdown() {
      for (const breaker of breakers.values()) breaker.shutdown();
    },
  };
}

export type Breakers = ReturnType<typeof createBreakers>;
