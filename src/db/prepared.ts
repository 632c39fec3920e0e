import type pg from 'pg';

/**
 * A hot statement, prepared on each connection the first time it runs there and executed by name after that, so
 * PostgreSQL parses and plans it once per connection rather than on every call: the ledger's batched statements run
 * many times a second. Each name must belong to one text only (a connection refuses a name prepared twice).
 */
export function prepared(name: string, text: string): (values: unknown[]) => pg.QueryConfig {
  return (values) => ({ name, text, values });
}
