/**
 * What the gateway parts share: one deployment, its travellers and their sockets, and the run's clock. A part that
 * leaves a backlog behind (a slow gateway) empties it before the next one measures, so each starts from idle.
 */
import type { Deployment } from './deployment.js';
import { purgeBacklog } from './kafka-resources.js';
import { channelLag } from './lag.js';
import type { BenchSettings } from './settings.js';
import type { SocketFleet, Traveller } from './travellers.js';
import type { Budget, Progress } from './timing.js';

export interface GatewayContext {
  deployment: Deployment;
  settings: BenchSettings;
  /** Every traveller in the database (the sustained population first, then the rest of the fanout train). */
  population: Traveller[];
  sockets: SocketFleet;
  progress: Progress;
  budget: Budget;
}

export interface ResetReport {
  /** Records still unconsumed by the channel groups when the part ended. */
  backlog: number;
  /** Records dropped from the topics (every topic of the run, retry topics included). */
  purgedRecords: number;
  ms: number;
}

/**
 * Starts the next part from idle: when the channel groups still have records to read, the workers are killed, the
 * topics' records deleted up to their end, and new workers started. Without this a fanout measured behind a backlog
 * of 200,000 records would time the backlog, not the fanout. Undefined when nothing was left.
 */
export async function resetIfBacklogged(ctx: GatewayContext): Promise<ResetReport | undefined> {
  const { deployment, progress } = ctx;
  const backlog = channelLag(await deployment.lag.read());
  if (backlog === 0) return undefined;
  const started = performance.now();
  progress(`gateway: ${backlog} records still unread; restarting the workers on emptied topics before the next part`);
  let purgedRecords = 0;
  await deployment.restartWorkers(progress, async () => {
    purgedRecords = await purgeBacklog(deployment.admin, deployment.prefix);
  });
  return { backlog, purgedRecords, ms: Math.round(performance.now() - started) };
}
