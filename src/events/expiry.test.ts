import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { DEFAULT_EXPIRY_GRACE, usefulUntil } from './expiry.js';
import { parseEvent } from './parse.js';

const disruption = (fields: Record<string, unknown>) => {
  const parsed = parseEvent({ type: 'FLIGHT_DELAY', flightNumber: 'W2121', ...fields });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.event;
};

describe('how long a disruption notice is of use', () => {
  it('is the departure plus the grace for its type', () => {
    const event = disruption({ departureTime: '2026-12-20T06:00:00+05:30', payload: { minutes: 40 } });
    expect(usefulUntil(event, DEFAULT_EXPIRY_GRACE)?.toISOString()).toBe('2026-12-20T01:00:00.000Z');
  });

  it('follows a new departure given as a date-time, not one given as a bare time', () => {
    const later = disruption({
      departureTime: '2026-12-20T06:00:00Z',
      payload: { minutes: 90, newDepartureTime: '2026-12-20T07:30:00Z' },
    });
    expect(usefulUntil(later, DEFAULT_EXPIRY_GRACE)?.toISOString()).toBe('2026-12-20T08:00:00.000Z');
    const clock = disruption({ departureTime: '2026-12-20T06:00:00Z', payload: { newDepartureTime: '07:30' } });
    expect(usefulUntil(clock, DEFAULT_EXPIRY_GRACE)?.toISOString()).toBe('2026-12-20T06:30:00.000Z');
  });

  it('never ends for a notice without a departure time', () => {
    expect(usefulUntil(disruption({ payload: { minutes: 40 } }), DEFAULT_EXPIRY_GRACE)).toBeUndefined();
  });

  it('takes its grace from EXPIRY_GRACE_MINUTES, type by type, and refuses what is not TYPE=minutes', () => {
    const config = loadConfig({ NODE_ENV: 'development', EXPIRY_GRACE_MINUTES: 'FLIGHT_DELAY=5, GATE_CHANGE=10' });
    expect(config.EXPIRY_GRACE_MINUTES).toEqual({ ...DEFAULT_EXPIRY_GRACE, FLIGHT_DELAY: 5, GATE_CHANGE: 10 });
    expect(() => loadConfig({ NODE_ENV: 'development', EXPIRY_GRACE_MINUTES: 'SHIP_DELAY=5' })).toThrow(
      /EXPIRY_GRACE_MINUTES.*SHIP_DELAY=5/s,
    );
  });

  it('refuses a departure time without its offset', () => {
    const parsed = parseEvent({ type: 'FLIGHT_DELAY', flightNumber: 'W2121', departureTime: '2026-12-20 06:00' });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.issues.map((i) => i.path)).toContain('departureTime');
  });
});
