import { describe, expect, it } from 'vitest';
import { quietUntil } from './quiet-hours.js';

const at = (iso: string) => new Date(iso);

describe('quietUntil', () => {
  const night = { start: '22:00', end: '07:00', timeZone: 'Asia/Kolkata' };

  it('holds a message sent in a window that runs over midnight until its end, in the person’s zone', () => {
    // 23:30 in Kolkata (UTC+5:30) is 18:00 UTC; the window ends at 07:00 Kolkata, 01:30 UTC the next day.
    expect(quietUntil(night, at('2026-12-01T18:00:00Z'))).toEqual(at('2026-12-02T01:30:00Z'));
    // 02:00 Kolkata: the same night's end, the same morning.
    expect(quietUntil(night, at('2026-12-01T20:30:00Z'))).toEqual(at('2026-12-02T01:30:00Z'));
  });

  it('lets a message through outside the window, and at its very end', () => {
    expect(quietUntil(night, at('2026-12-01T06:30:00Z'))).toBeUndefined(); // 12:00 Kolkata
    expect(quietUntil(night, at('2026-12-02T01:30:00Z'))).toBeUndefined(); // 07:00 exactly
  });

  it('handles a same-day window with seconds, and an empty one', () => {
    const lunch = { start: '12:00:00', end: '12:00:30', timeZone: 'UTC' };
    expect(quietUntil(lunch, at('2026-12-01T12:00:10Z'))).toEqual(at('2026-12-01T12:00:30Z'));
    expect(quietUntil({ ...lunch, end: '12:00:00' }, at('2026-12-01T12:00:00Z'))).toBeUndefined();
  });

  it.each([
    ['at the very start of the window', night, '2026-12-01T16:30:00Z', '2026-12-02T01:30:00Z'], // 22:00 Kolkata
    ['a second before the start', night, '2026-12-01T16:29:59Z', undefined],
    ['just after midnight, in the zone but not in UTC', night, '2026-12-01T18:31:00Z', '2026-12-02T01:30:00Z'], // 00:01
    // 13:30 in New York (UTC−5 in December) is 18:30 UTC; the window ends at 15:00 there, 20:00 UTC.
    [
      'a same-day window west of UTC',
      { start: '13:00', end: '15:00', timeZone: 'America/New_York' },
      '2026-12-01T18:30:00Z',
      '2026-12-01T20:00:00Z',
    ],
    [
      'a zone that does not exist: never held',
      { ...night, timeZone: 'Mars/Olympus' },
      '2026-12-01T18:00:00Z',
      undefined,
    ],
  ])('%s', (_, quiet, now, until) => {
    expect(quietUntil(quiet, at(now))).toEqual(until && at(until));
  });

  it('ends at the local wall-clock time across a daylight-saving change', () => {
    // London leaves summer time on 25 Oct 2026 at 02:00 BST; 07:00 that morning is 07:00 GMT.
    const london = { start: '23:00', end: '07:00', timeZone: 'Europe/London' };
    expect(quietUntil(london, at('2026-10-24T22:30:00Z'))).toEqual(at('2026-10-25T07:00:00Z'));
  });
});
