import pLimit from 'p-limit';
import { SendHandedOverError, type ChannelAdapter, type OutboundMessage, type SendOptions } from './channel.js';

/**
 * Sends in flight beyond the provider's connections wait here, not inside the client: nodemailer's pool queues every
 * message it is given, and a message in its queue can no longer be taken back. Waiting here, a send can be given up
 * when its consumer hands its records on (a rebalance, a stop): it has certainly not reached the server, so its claim
 * is released and its record read again by the next owner. Only the sends already on a connection are waited for, so
 * a channel may keep many more deliveries in flight than it has connections without slowing a rebalance.
 */
export function withConnectionGate(adapter: ChannelAdapter, connections: number): ChannelAdapter {
  const gate = pLimit(connections);
  const findSent = adapter.findSent?.bind(adapter);
  return {
    channel: adapter.channel,
    ...(findSent && { findSent }),
    send(message: OutboundMessage, options: SendOptions = {}) {
      const { signal, ...rest } = options;
      if (signal?.aborted) return Promise.reject(new SendHandedOverError());
      // Looked at once the turn comes: a send given up meanwhile frees its turn at once, unsent.
      return gate(() => (signal?.aborted ? Promise.reject(new SendHandedOverError()) : adapter.send(message, rest)));
    },
    close: () => adapter.close(),
  };
}
