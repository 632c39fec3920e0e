import type pg from 'pg';

/**
 * Runs `work` in one transaction on one pooled client: committed if it resolves, rolled back if it throws.
 *
 * A checked-out client has no listener of the pool's: should the server end the connection between two statements
 * (a restart, a failover, `pg_terminate_backend`), the client's 'error' event would be an uncaught exception that
 * stops the process. It is heard here instead, the work fails with it, and the broken client is destroyed rather
 * than handed back to the pool.
 */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (error: Error) => {
    lost ??= error;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A connection that is gone has rolled back already; its ROLLBACK would only fail again and hide the cause.
    if (!lost) await client.query('ROLLBACK').catch((rollbackError: Error) => (lost ??= rollbackError));
    throw error;
  } finally {
    client.removeListener('error', onError);
    client.release(lost ?? false);
  }
}
