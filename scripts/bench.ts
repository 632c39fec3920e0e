/** `npm run bench [-- <name>]`: runs the named benchmarks (all by default) against the local stack. */
import { benchIngest } from './bench/ingest.bench.js';

const BENCHES: Record<string, () => Promise<void>> = { ingest: benchIngest };

const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = names.filter((n) => !(n in BENCHES));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')}; available: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
for (const name of names.length ? names : Object.keys(BENCHES)) await BENCHES[name]!();
process.exit(0);
