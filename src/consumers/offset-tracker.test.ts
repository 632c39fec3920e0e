import { describe, expect, it } from 'vitest';
import { createOffsetTracker } from './offset-tracker.js';

describe('offset tracker', () => {
  it('moves the committable offset only over a settled prefix, whatever order records settle in', () => {
    const tracker = createOffsetTracker(['10', '11', '12', '13']);
    expect(tracker.settle('12')).toBeUndefined();
    expect(tracker.oldestUnsettled()).toBe('10');
    expect(tracker.settle('11')).toBeUndefined();
    expect(tracker.settle('10')).toBe('12');
    expect(tracker.oldestUnsettled()).toBe('13');
    expect(tracker.settle('13')).toBe('13');
    expect(tracker.oldestUnsettled()).toBeUndefined();
  });

  it('keeps the oldest unsettled record when a later one settled (the one read again after a pause)', () => {
    const tracker = createOffsetTracker(['5', '7', '9']);
    tracker.settle('5');
    tracker.settle('9');
    expect(tracker.oldestUnsettled()).toBe('7');
  });

  it('refuses an offset that is not in the batch', () => {
    expect(() => createOffsetTracker(['1']).settle('2')).toThrow(RangeError);
  });
});
