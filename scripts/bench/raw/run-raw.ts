/**
 * `npx tsx scripts/bench/raw/run-raw.ts`: the raw limits alone: progress lines, the JSON, then a check that nothing
 * the run created is left behind (topics, groups, databases, open handles).
 */
import pg from 'pg';
import { createKafka } from '../../../src/kafka/client.js';
import { runRawLimits } from './index.js';
import { silentLogger, stackConfig } from './shared.js';

async function leftovers(): Promise<string[]> {
  const config = stackConfig();
  const admin = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: 'bench-raw-check',
    logger: silentLogger,
  }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith('bench.raw.'));
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith('bench.raw.'));
  await admin.disconnect();
  const client = new pg.Client({
    connectionString: Object.assign(new URL(config.DATABASE_URL), { pathname: '/postgres' }).toString(),
  });
  await client.connect();
  const { rows } = await client.query<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_raw\\_%'`,
  );
  await client.end();
  return [
    ...topics.map((t) => `topic ${t}`),
    ...groups.map((g) => `group ${g}`),
    ...rows.map((r) => `database ${r.datname}`),
  ];
}

const started = performance.now();
const limits = await runRawLimits(console.log);
console.log(JSON.stringify(limits, (_key, value) => (Number.isNaN(value) ? 'NaN' : value), 2));
console.log(`raw limits took ${((performance.now() - started) / 1000).toFixed(1)} s`);
// Whatever still holds the event loop (sockets, child processes) was not cleaned up. Stdio pipes are ours to keep.
const open = process.getActiveResourcesInfo().filter((r) => !['TTYWrap', 'PipeWrap', 'Timeout'].includes(r));
const left = await leftovers().catch((error: Error) => [`(could not check: ${error.message})`]);
console.log([...left, ...open].length ? `left behind: ${[...left, ...open].join(', ')}` : 'nothing left behind');
process.exit(0);
