import { describe, expect, it } from 'vitest';
import { emptyOutcome, planFor, standingOf } from './redrive-plan.js';
import type { RecipientStanding } from '../store/redrive-ledger.repository.js';

const row = (userId: string | null, status: string | null, letter?: [string, string]): RecipientStanding => ({
  userId,
  status,
  letter: letter ? { status: letter[0], errorClass: letter[1] } : null,
});

describe('what a re-drive sends again', () => {
  it.each([
    [row('u', 'sent'), 'delivered'],
    [row('u', 'skipped'), 'delivered'],
    [row('u', 'sending'), 'open'],
    [row('u', 'dead_lettered', ['pending', 'exhausted']), 'open'],
    [row('u', 'dead_lettered'), 'open'],
    [row('u', 'dead_lettered', ['pending', 'permanent']), 'failed'],
    [row('u', 'dead_lettered', ['discarded', 'exhausted']), 'discarded'],
    [row('u', 'dead_lettered', ['discarded', 'permanent']), 'discarded'],
    [row('u', 'sent', ['discarded', 'permanent']), 'delivered'],
    [row('u', 'failed'), 'failed'],
    [row('u', 'undelivered'), 'final'],
    [row('u', null, ['discarded', 'permanent']), 'discarded'],
  ] as const)('%o stands %s', (standing, expected) => {
    expect(standingOf(standing)).toBe(expected);
  });

  it('sends a record no recipient has a row of to everyone, as a first delivery', () => {
    const outcome = emptyOutcome();
    expect(planFor([], [], outcome)).toEqual({ everyone: true, userIds: [] });
    expect(outcome).toEqual({ redriven: 1, alreadyDelivered: 0, skippedDiscarded: 0, skippedFailed: 0 });
  });

  it('names only the recipients that may go again, and counts the rest by kind', () => {
    const standings = [
      row('sent', 'delivered'),
      row('lost', 'dead_lettered', ['pending', 'exhausted']),
      row('thrown', 'dead_lettered', ['discarded', 'permanent']),
      row('refused', 'dead_lettered', ['pending', 'permanent']),
      row('handset', 'undelivered'),
    ];
    const plain = emptyOutcome();
    expect(planFor(standings, [], plain)).toEqual({ everyone: false, userIds: ['lost'] });
    expect(plain).toEqual({ redriven: 1, alreadyDelivered: 1, skippedDiscarded: 1, skippedFailed: 2 });
    const all = emptyOutcome();
    expect(planFor(standings, ['discarded', 'failed'], all)).toEqual({
      everyone: false,
      userIds: ['lost', 'thrown', 'refused'],
    });
    expect(all).toEqual({ redriven: 3, alreadyDelivered: 1, skippedDiscarded: 0, skippedFailed: 1 });
  });

  it('holds back a whole record whose own dead letter was discarded, unless included', () => {
    const whole = [row(null, null, ['discarded', 'permanent'])];
    const held = emptyOutcome();
    expect(planFor(whole, ['failed'], held)).toEqual({ everyone: false, userIds: [] });
    expect(held.skippedDiscarded).toBe(1);
    expect(planFor(whole, ['discarded'], emptyOutcome())).toEqual({ everyone: true, userIds: [] });
  });
});
