/** `npm run migrate`: applies pending migrations to DATABASE_URL, creating the database if needed. */
import { loadConfig } from '../src/config.js';
import { ensureDatabase, migrate } from '../src/db/migrate.js';
import { createLogger } from '../src/logger.js';

const config = loadConfig();
const logger = createLogger({ level: config.LOG_LEVEL, name: 'migrate' });
await ensureDatabase(config.DATABASE_URL);
const applied = await migrate({ databaseUrl: config.DATABASE_URL, logger });
console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema up to date');
