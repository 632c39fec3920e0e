/**
 * Composition root: the only place that reads process.env and starts things.
 *   tsx src/main.ts                    the gateway: worker, bridge and api
 *   tsx src/main.ts --role api,bridge  some of them (one process per role in docker-compose.yml)
 *   tsx src/main.ts --role sandbox,…   the Twilio sandbox too, in development only (`npm start` asks for it)
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './config.js';
import { seedDemoData } from './db/demo-seed.js';
import { ensureDatabase, migrate } from './db/migrate.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import { startApi } from './roles/api.role.js';
import { startBridge } from './roles/bridge.role.js';
import type { Role, StartRole } from './roles/role.js';
import { RoleSelectionError, selectRoles, type RoleName } from './roles/role-selection.js';
import { startWorker } from './roles/worker.role.js';
import { startSandbox } from './roles/sandbox.role.js';

const ROLES: Record<RoleName, StartRole> = {
  sandbox: startSandbox,
  worker: startWorker,
  bridge: startBridge,
  api: startApi,
};

function chosenRoles(config: Config): RoleName[] {
  const { values } = parseArgs({ options: { role: { type: 'string' } } });
  return selectRoles(values.role, config.NODE_ENV);
}

function printWelcome(config: Config, roles: Role[]): void {
  const urls = Object.assign({}, ...roles.map((r) => r.urls)) as Record<string, string>;
  const api = urls.api ?? `http://${config.HOST}:${config.PORT}`;
  const post = (file: string) =>
    `curl -X POST ${api}/events -H 'x-api-key: ${config.INGEST_API_KEYS[0]}' -H 'content-type: application/json' -d @examples/${file}`;
  console.log(`
Notification gateway running: ${roles.map((r) => r.name).join(', ')}
${Object.entries(urls)
  .map(([name, url]) => `  ${name.padEnd(8)} ${url}`)
  .join('\n')}
  mail     ${config.MAIL_PREVIEW_URL} (every email sent)

Watch alerts live: open ${urls.alerts ?? `${api}/alerts.html`} and log in as demo-ravi (flight W2121) or demo-asha (train 12951).

Trigger each event (from this folder):
  flight delay       ${post('flight-delay.json')}
  train delay        ${post('train-delay.json')}
  booking confirmed  npm run produce -- booking-confirmed examples/booking-confirmed.json
  booking cancelled  npm run produce -- booking-cancelled examples/booking-cancelled.json
  payment completed  npm run produce -- payment-completed examples/payment-completed.json
`);
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL });
  const names = chosenRoles(config);

  await ensureDatabase(config.DATABASE_URL);
  await migrate({ databaseUrl: config.DATABASE_URL, logger });
  if (config.NODE_ENV !== 'production') await seedDemoData(config.DATABASE_URL);

  const metrics = createMetrics();
  const roles: Role[] = [];
  for (const name of names) roles.push(await ROLES[name](config, logger, { metrics }));
  printWelcome(config, roles);
  handleShutdown(roles, logger);
}

function handleShutdown(roles: Role[], logger: Logger): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    for (const role of [...roles].reverse())
      await role.stop().catch((err: unknown) => logger.error({ err, role: role.name }, 'stop failed'));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof RoleSelectionError ? error.message : error);
  process.exit(1);
});
