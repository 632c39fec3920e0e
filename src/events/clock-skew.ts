import type { EventIssue } from './parse.js';
import type { GatewayEvent } from './schemas.js';

/**
 * What is wrong with an event stamped further ahead of the gateway's clock than `maxAheadMs`, or undefined. A partner's
 * clock may run a little fast; one far ahead (2099) is a mistake, or a notice made to look newer than the real ones.
 * A timestamp that does not parse as a date passes: the schema already judged its form, and nothing orders by it.
 */
export function futureTimestampIssue(
  event: Pick<GatewayEvent, 'eventTimestamp'>,
  maxAheadMs: number,
  now = Date.now(),
): EventIssue | undefined {
  const ahead = Date.parse(event.eventTimestamp) - now;
  if (!(ahead > maxAheadMs)) return undefined;
  return {
    path: 'eventTimestamp',
    message: `is ${Math.round(ahead / 1000)} s ahead of the gateway's clock; at most ${maxAheadMs / 1000} s is allowed`,
  };
}
