import type { BreakerState } from '../channels/breaker.js';
import type { ReadinessCheck } from '../net/readiness.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics.js';

/** A running part of the gateway; main.ts starts the roles asked for and stops them in reverse order. */
export interface Role {
  name: string;
  /** Addresses worth printing at start. */
  urls: Record<string, string>;
  stop(): Promise<void>;
  /** What the role depends on, for the `/readyz` of a process without the api (METRICS_PORT). */
  checks?: Record<string, ReadinessCheck>;
  /** The breakers' states, where the role has them (a worker). */
  breakers?: () => Promise<Record<string, BreakerState>>;
}

/** What the composition root gives every role of its process. */
export interface RoleDeps {
  /** One set per process: an api serves at `/metrics` what a worker in the same process counted. */
  metrics: GatewayMetrics;
}

/** Starts one role from the configuration. */
export type StartRole = (config: Config, logger: Logger, deps: RoleDeps) => Promise<Role>;
