import DataLoader from 'dataloader';

export interface BatchLoaderOptions {
  /** Rows in one statement at most. */
  maxBatchSize?: number;
  /** Statements of this loader running at once; calls made meanwhile wait and go together in the next one. */
  maxInFlight?: number;
}

/**
 * Group commit for one kind of statement: calls made while earlier statements of the same kind are still running are
 * gathered into one statement, so a hundred deliveries in flight cost a few round trips, not a hundred, and a lone
 * call waits for nothing but the next turn of the event loop.
 *
 * One bad row (a value the database refuses) fails the whole statement: the batch is then tried row by row, so only
 * that row's caller gets the error and the others go through.
 */
export function createBatchLoader<K, V>(
  run: (keys: readonly K[]) => Promise<V[]>,
  { maxBatchSize = 500, maxInFlight = 2 }: BatchLoaderOptions = {},
) {
  let inFlight = 0;
  const waiting: Array<() => void> = [];
  const finished = () => {
    inFlight -= 1;
    waiting.shift()?.();
  };

  const loader = new DataLoader<K, V>(
    async (keys) => {
      try {
        return await run(keys);
      } catch (error) {
        if (keys.length === 1) return [error as Error];
        return Promise.all(
          keys.map((key) =>
            run([key]).then(
              (rows) => rows[0]!,
              (e: unknown) => e as Error,
            ),
          ),
        );
      } finally {
        finished();
      }
    },
    {
      cache: false,
      maxBatchSize,
      batchScheduleFn: (dispatch) => {
        // Counted from when it is scheduled, so two batches formed in one tick cannot both slip past the bound.
        if (inFlight < maxInFlight) {
          inFlight += 1;
          setImmediate(dispatch);
        } else {
          waiting.push(() => {
            inFlight += 1;
            dispatch();
          });
        }
      },
    },
  );
  return (key: K): Promise<V> => loader.load(key);
}
