import type { RecipientStanding } from '../store/redrive-ledger.repository.js';

/** What an operator may ask a re-drive to send again beyond what is merely missing or was given up on in transit. */
export const REDRIVE_INCLUDES = ['discarded', 'failed'] as const;
export type RedriveInclude = (typeof REDRIVE_INCLUDES)[number];

/**
 * How one delivery stands: `delivered` (or settled on purpose: skipped, expired, superseded), `open` (never settled,
 * or its retries ran out), `discarded` (an operator threw its dead letter away), `failed` (failed for good: a
 * permanent dead letter, or withdrawn), `final` (the provider took it and the handset never had it: the claim never
 * takes it again, so neither does a re-drive).
 */
export type Standing = 'delivered' | 'open' | 'discarded' | 'failed' | 'final';

export function standingOf({ status, letter }: RecipientStanding): Standing {
  if (status === 'undelivered') return 'final';
  if (status === 'failed') return 'failed';
  if (status !== null && status !== 'dead_lettered' && status !== 'sending') return 'delivered';
  if (letter?.status === 'discarded' && status !== 'sending') return 'discarded';
  if (letter?.errorClass === 'permanent' && status !== 'sending') return 'failed';
  return 'open';
}

/** One channel's counts: sent again (or, in a dry run, would be), already delivered, and held back by kind. */
export interface ChannelOutcome {
  redriven: number;
  alreadyDelivered: number;
  skippedDiscarded: number;
  skippedFailed: number;
}

export const emptyOutcome = (): ChannelOutcome => ({
  redriven: 0,
  alreadyDelivered: 0,
  skippedDiscarded: 0,
  skippedFailed: 0,
});

/**
 * Whom to send one event to again on a channel: `everyone` (a record the channel never handled: all its recipients,
 * as a first delivery), some `userIds` (each as an operator's replay, which may take back a row that failed), or none.
 * Counts into `outcome` as it decides.
 */
export function planFor(
  standings: RecipientStanding[],
  include: readonly RedriveInclude[],
  outcome: ChannelOutcome,
): { everyone: boolean; userIds: string[] } {
  const allowed = (s: Standing) => s === 'open' || (s !== 'delivered' && s !== 'final' && include.includes(s));
  const hold = (s: Standing) => {
    if (s === 'discarded') outcome.skippedDiscarded += 1;
    else outcome.skippedFailed += 1;
  };
  const recipients = standings.filter((s) => s.userId !== null && (s.status !== null || s.letter !== null));
  const ledgerRows = standings.filter((s) => s.status !== null);
  if (ledgerRows.length === 0) {
    // Nothing reached the ledger: the record as a whole, unless its own dead letter was thrown away or failed for good.
    const whole = standings.find((s) => s.userId === null);
    const standing = whole ? standingOf(whole) : 'open';
    if (recipients.length === 0 || whole) {
      if (!allowed(standing)) {
        hold(standing);
        return { everyone: false, userIds: [] };
      }
      outcome.redriven += 1;
      return { everyone: true, userIds: [] };
    }
  }
  const userIds: string[] = [];
  for (const recipient of recipients) {
    const standing = standingOf(recipient);
    if (standing === 'delivered') outcome.alreadyDelivered += 1;
    else if (allowed(standing)) userIds.push(recipient.userId!);
    else hold(standing);
  }
  outcome.redriven += userIds.length;
  return { everyone: false, userIds };
}
