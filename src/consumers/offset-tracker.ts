/**
 * The offsets of one batch, settled in any order: which offset may be committed (the end of the settled prefix) and
 * which record is the oldest not yet settled. Offsets are kafkajs's decimal strings, in batch order.
 */
export function createOffsetTracker(offsets: readonly string[]) {
  const index = new Map(offsets.map((offset, i) => [offset, i]));
  const settled = new Array<boolean>(offsets.length).fill(false);
  let prefix = 0; // offsets[0 … prefix-1] are settled

  return {
    /** Marks one settled; returns the last offset of the settled prefix when this moved it, else undefined. */
    settle(offset: string): string | undefined {
      const i = index.get(offset);
      if (i === undefined) throw new RangeError(`offset ${offset} is not in this batch`);
      settled[i] = true;
      if (i !== prefix) return undefined;
      while (prefix < offsets.length && settled[prefix]) prefix += 1;
      return offsets[prefix - 1];
    },
    /** The oldest offset not settled yet, or undefined when every one is. */
    oldestUnsettled(): string | undefined {
      return offsets[prefix];
    },
  };
}
