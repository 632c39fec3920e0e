import type pg from 'pg';
import { GatewayError } from '../errors/gateway-error.js';

/** A claim as its holder knows it: the ledger row, and the attempt its claim made (every later claim moves it on). */
export interface HeldClaim {
  id: string;
  attempt: number;
}

/** The claim was taken over (its lease ran out and another process claimed it): this holder must not send. */
export class LeaseLostError extends GatewayError<'LEASE_LOST'> {
  constructor(id: string) {
    super(`delivery ${id} was taken over by another process when its lease ran out`, {
      code: 'LEASE_LOST',
      retriable: false,
    });
    this.name = 'LeaseLostError';
  }
}

// Fenced by the attempt: a claim taken over since has moved `attempts` on and is no longer this holder's. A lease that
// ran out without anyone taking the row is taken back: no one else can have sent meanwhile.
const RENEW = `UPDATE deliveries SET lease_until = now() + $3 * interval '1 millisecond'
  WHERE id = $1 AND attempts = $2 AND status = 'sending'`;

/** The leases of claims in hand: renewed while the work lasts, and checked in SQL before what must not be done twice. */
export function createLeases(pool: pg.Pool, leaseMs: number) {
  const renew = async (held: HeldClaim): Promise<boolean> =>
    (await pool.query(RENEW, [held.id, held.attempt, leaseMs])).rowCount === 1;

  return {
    /**
     * Runs `work` (a look-up, a send) while keeping the claim: its lease is renewed every third of it, so no one takes
     * over a delivery still in hand. A failed renewal is left to the next one; `stillHeld` is the fence: called just
     * before the send, it renews the lease once more or throws LeaseLostError when another process has taken it.
     */
    async holdWhile<T>(held: HeldClaim, work: (stillHeld: () => Promise<void>) => Promise<T>): Promise<T> {
      const timer = setInterval(() => void renew(held).catch(() => {}), Math.max(100, Math.floor(leaseMs / 3)));
      const stillHeld = async () => {
        if (!(await renew(held))) throw new LeaseLostError(held.id);
      };
      try {
        return await work(stillHeld);
      } finally {
        clearInterval(timer);
      }
    },
  };
}
