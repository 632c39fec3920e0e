/**
 * Composition root: the only place that reads process.env and starts things.
 *   tsx src/main.ts                    the gateway: worker, bridge and api
 *   tsx src/main.ts --role api,bridge  some of them (one process per role in docker-compose.yml)
 *   tsx src/main.ts --role sandbox,…   the Twilio sandbox too, in development only (`npm start` asks for it)
 */
import { parseArgs } from 'node:util';
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig, type Config } from './config.js';
import { seedDemoData } from './db/demo-seed.js';
import { ensureDatabase, migrate } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { createOptOutsRepository } from './store/opt-outs.repository.js';
import { fieldCipherOf } from './util/field-cipher.js';
import { createLogger, wantsPrettyLogs, type Logger } from './logger.js';
import { buildOpsApp } from './http/ops.app.js';
import type { ReadinessCheck } from './net/readiness.js';
import { createMetrics, type GatewayMetrics } from './metrics.js';
import { startApi } from './roles/api.role.js';
import { startBridge } from './roles/bridge.role.js';
import type { Role, StartRole } from './roles/role.js';
import { RoleSelectionError, selectRoles, type RoleName } from './roles/role-selection.js';
import { startWorker } from './roles/worker.role.js';
import { startSandbox } from './roles/sandbox.role.js';
import { startResealing } from './roles/resealer.composition.js';

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
  const logger = createLogger({
    level: config.LOG_LEVEL,
    pretty: wantsPrettyLogs(config.NODE_ENV, process.stdout.isTTY),
  });
  const names = chosenRoles(config);

  await ensureDatabase(config.DATABASE_URL);
  await migrate({ databaseUrl: config.DATABASE_URL, logger });
  await hashStoredOptOuts(config, logger);
  if (config.NODE_ENV !== 'production') await seedDemoData(config.DATABASE_URL, fieldCipherOf(config));

  const metrics = createMetrics();
  const roles: Role[] = [];
  const starting = (async () => {
    for (const name of names) roles.push(await ROLES[name](config, logger, { metrics }));
    // Contact details and bodies stored plain, or under a data key no longer first, are sealed again meanwhile.
    if (names.includes('api')) roles.push(startResealing(config, logger));
    const ops = await serveOps(config, logger, metrics, roles);
    if (ops) roles.push(ops);
  })();
  handleShutdown({ roles, starting, logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
  await starting;
  printWelcome(config, roles);
}

/**
 * Opt-outs stored before they were kept by a keyed hash hold the number itself: each is replaced by its hash before
 * any role reads them (a migration cannot, not knowing the key). Once done, this is one look at an index.
 */
async function hashStoredOptOuts(config: Config, logger: Logger): Promise<void> {
  const pool = createPool(config.DATABASE_URL, logger, 1);
  try {
    const hashed = await createOptOutsRepository(pool, fieldCipherOf(config)).hashStoredNumbers();
    if (hashed > 0) logger.info({ hashed }, 'opt-outs stored by number now kept by keyed hash');
  } finally {
    await pool.end();
  }
}

/** With METRICS_PORT: the process's /healthz, /readyz (every role's checks) and /metrics on a port of its own. */
async function serveOps(config: Config, logger: Logger, metrics: GatewayMetrics, roles: Role[]) {
  if (!config.METRICS_PORT) return undefined;
  const app = await buildOpsApp({
    logger,
    metrics,
    checks: Object.assign({}, ...roles.map((r) => r.checks)) as Record<string, ReadinessCheck>,
    breakers: roles.find((r) => r.breakers)?.breakers ?? (async () => ({})),
  });
  const url = await app.listen({ host: config.HOST, port: config.METRICS_PORT });
  return { name: 'ops', urls: { metrics: `${url}/metrics`, health: `${url}/readyz` }, stop: () => app.close() };
}

/**
 * SIGTERM or SIGINT (once the start is over) stops the roles in reverse order: the ops port and the api first, so no
 * new work arrives; then the worker, which finishes its deliveries in flight and commits. Exits 0 once all stopped, 1
 * if one failed or the whole took longer than `timeoutMs` (close-with-grace).
 */
function handleShutdown({
  roles,
  starting,
  logger,
  timeoutMs,
}: {
  roles: Role[];
  /** A signal during the start waits for it: a role half started may already hold deliveries in flight. */
  starting: Promise<void>;
  logger: Logger;
  timeoutMs: number;
}): void {
  closeWithGrace(
    {
      delay: timeoutMs,
      logger: { error: (message: string) => logger.error(message) },
      onTimeout: () => logger.error({ timeoutMs }, 'shutdown did not finish in time; exiting 1'),
    },
    async ({ signal, err }) => {
      if (err) logger.error({ err }, 'stopping after an uncaught error');
      else logger.info({ signal }, 'stopping');
      await starting.catch(() => {});
      const failed: string[] = [];
      for (const role of [...roles].reverse()) {
        await role.stop().catch((error: unknown) => {
          logger.error({ err: error, role: role.name }, 'stop failed');
          failed.push(role.name);
        });
      }
      if (failed.length > 0) throw new Error(`${failed.join(', ')} did not stop cleanly`);
      if (err) throw err;
      logger.info('stopped');
    },
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof RoleSelectionError ? error.message : error);
  process.exit(1);
});
