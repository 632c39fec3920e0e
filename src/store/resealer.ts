import type pg from 'pg';
import type { Logger } from '../logger.js';
import { openJson, sealJson, type FieldCipher } from '../util/field-cipher.js';

/** A column holding sealed values: text (the sealed text itself) or jsonb (one JSON string, the sealed JSON). */
interface SealedColumn {
  name: string;
  kind: 'text' | 'json';
}

/** A table with sealed columns, walked in order of its key; `hashes` fills look-up columns from opened values. */
interface SealedTable {
  table: string;
  key: string;
  keyType: 'bigint' | 'text';
  columns: SealedColumn[];
  hashes?: Array<{ name: string; from: string }>;
}

/** Everything sealed at rest (migration 0020 names them). Users first: their phone hash is what STOP look-ups use. */
const SEALED_TABLES: SealedTable[] = [
  {
    table: 'users',
    key: 'user_id',
    keyType: 'text',
    columns: [
      { name: 'name', kind: 'text' },
      { name: 'email', kind: 'text' },
      { name: 'phone', kind: 'text' },
    ],
    hashes: [{ name: 'phone_hash', from: 'phone' }],
  },
  {
    table: 'deliveries',
    key: 'id',
    keyType: 'bigint',
    columns: [
      { name: 'recipient', kind: 'text' },
      { name: 'subject', kind: 'text' },
      { name: 'body', kind: 'text' },
    ],
  },
  { table: 'inbox', key: 'id', keyType: 'bigint', columns: [{ name: 'payload', kind: 'json' }] },
  { table: 'dead_letters', key: 'id', keyType: 'bigint', columns: [{ name: 'payload', kind: 'json' }] },
];

const BATCH = 500;
/** A progress line every this many batches (and one at each table's end). */
const PROGRESS_EVERY = 20;

/**
 * Whether a stored value needs sealing (again): plain, or sealed under a key that is no longer the first. Erasure's
 * markers on dead letters (`{"erased": true, ...}`) hold nothing personal and stay readable to the statements that
 * look for them.
 */
function staleCondition(column: SealedColumn, current: string): string {
  const sealedNow = `'enc:v1:${current}:%'`;
  if (column.kind === 'text') return `(${column.name} IS NOT NULL AND ${column.name} NOT LIKE ${sealedNow})`;
  const c = column.name;
  return `(${c} IS NOT NULL AND NOT (jsonb_typeof(${c}) = 'object' AND ${c} ? 'erased')
    AND NOT (jsonb_typeof(${c}) = 'string' AND ${c} #>> '{}' LIKE ${sealedNow}))`;
}

/**
 * Seals what was stored before sealing was turned on, and seals again with the first key what an older key sealed:
 * after a key is put first in DATA_ENCRYPTION_KEYS, this is what lets the old one be removed. It walks each table in
 * batches, in the background, and says how far it got. A row changed meanwhile (a send recorded, an erasure) is left
 * as its writer made it: each update holds only if the row still has the values that were read.
 */
export function createResealer({ pool, cipher, logger }: { pool: pg.Pool; cipher: FieldCipher; logger: Logger }) {
  const current = cipher.currentKeyId;
  if (!/^[A-Za-z0-9_-]+$/.test(current)) throw new RangeError('a data key id is letters, digits, - or _');

  function resealed(column: SealedColumn, stored: unknown, table: string): unknown {
    if (stored === null || stored === undefined) return null;
    const qualified = `${table}.${column.name}`;
    if (column.kind === 'text') return cipher.seal(cipher.open(stored as string, qualified), qualified);
    return sealJson(cipher, openJson(cipher, stored, qualified), qualified);
  }

  async function resealTable(spec: SealedTable, signal: AbortSignal): Promise<number> {
    const { table, key, keyType, columns } = spec;
    const hashes = spec.hashes ?? [];
    const stale = columns.map((c) => staleCondition(c, current)).join(' OR ');
    const select = `SELECT ${key} AS key, ${columns.map((c) => c.name).join(', ')} FROM ${table}
      WHERE ${key} > $1 AND (${stale}) ORDER BY ${key} LIMIT ${BATCH}`;
    // v: the key, then each column's value as read and as sealed, then each hash.
    const params = columns.flatMap((c) => [`${c.name}_old`, `${c.name}_new`]);
    const cast = (c: SealedColumn) => (c.kind === 'json' ? '::jsonb' : '');
    const update = `UPDATE ${table} t SET
        ${[...columns.map((c) => `${c.name} = v.${c.name}_new${cast(c)}`), ...hashes.map((h) => `${h.name} = v.${h.name}`)].join(', ')}
      FROM unnest($1::${keyType}[], ${[...params, ...hashes.map((h) => h.name)].map((_, i) => `$${i + 2}::text[]`).join(', ')})
        AS v(key, ${[...params, ...hashes.map((h) => h.name)].join(', ')})
      WHERE t.${key} = v.key AND ${columns.map((c) => `t.${c.name} IS NOT DISTINCT FROM v.${c.name}_old${cast(c)}`).join(' AND ')}`;

    let after: string = keyType === 'bigint' ? '0' : '';
    let sealed = 0;
    let batches = 0;
    const progress = (finished: boolean) => {
      if (sealed > 0 && (finished || batches % PROGRESS_EVERY === 0))
        logger.info({ table, sealed, finished }, 'sealing stored contact details and bodies with the current data key');
    };
    for (;;) {
      if (signal.aborted) return sealed;
      const { rows } = await pool.query<Record<string, unknown>>(select, [after]);
      if (rows.length === 0) {
        progress(true);
        return sealed;
      }
      const values: unknown[][] = [rows.map((r) => r.key)];
      for (const column of columns) {
        const stored = rows.map((r) => r[column.name]);
        const asText = (v: unknown) =>
          v === null || v === undefined ? null : column.kind === 'json' ? JSON.stringify(v) : v;
        values.push(stored.map(asText));
        values.push(stored.map((v) => resealed(column, v, table)));
      }
      for (const hash of hashes) {
        values.push(
          rows.map((r) => {
            const stored = r[hash.from] as string | null;
            return stored === null ? null : cipher.hash(cipher.open(stored, `${table}.${hash.from}`));
          }),
        );
      }
      const { rowCount } = await pool.query(update, values);
      sealed += rowCount ?? 0;
      after = String(rows.at(-1)!.key);
      batches += 1;
      const finished = rows.length < BATCH;
      progress(finished);
      if (finished) return sealed;
    }
  }

  return {
    /** Walks every sealed table once; how many rows each needed. Stops between batches when the signal aborts. */
    async run(signal: AbortSignal): Promise<Record<string, number>> {
      const counts: Record<string, number> = {};
      for (const spec of SEALED_TABLES) counts[spec.table] = await resealTable(spec, signal);
      return counts;
    },
  };
}
