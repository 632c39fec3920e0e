/**
 * `npm run cluster`: the gateway scaled out on this machine, as it would run on several: the Twilio sandbox, two api
 * nodes (each with a bridge) and two workers, every one a process of its own on the local stack. The api nodes share
 * live alerts through Redis (a socket on either gets what any worker delivers) and the workers share the partitions
 * of every consumer group. Ctrl-C stops them all (concurrently passes the signal on).
 *
 *   CLUSTER_API_PORTS      the api nodes' ports, default 3000,3001
 *   CLUSTER_METRICS_PORTS  the workers' /readyz and /metrics ports, default 9464,9465
 */
import { concurrently } from 'concurrently';
import { loadConfig } from '../src/config.js';

const ports = (value: string | undefined, fallback: string) => (value ?? fallback).split(',').map((p) => p.trim());
const apiPorts = ports(process.env.CLUSTER_API_PORTS, '3000,3001');
const workerPorts = ports(process.env.CLUSTER_METRICS_PORTS, '9464,9465');
const config = loadConfig(process.env);

// Twilio signs its webhooks against one public address: the first api node's, as a load balancer's would be.
const shared = { NODE_ENV: config.NODE_ENV, PUBLIC_URL: process.env.PUBLIC_URL ?? `http://127.0.0.1:${apiPorts[0]}` };
const gateway = (roles: string) => `node --import tsx src/main.ts --role ${roles}`;

const { result } = concurrently(
  [
    { name: 'sandbox', command: gateway('sandbox'), env: { ...shared, METRICS_PORT: '0' } },
    ...apiPorts.map((port, i) => ({
      name: `api-${String.fromCharCode(97 + i)}`,
      command: gateway('api,bridge'),
      env: { ...shared, PORT: port, METRICS_PORT: '0' },
    })),
    ...workerPorts.map((port, i) => ({
      name: `worker-${i + 1}`,
      command: gateway('worker'),
      env: { ...shared, METRICS_PORT: port },
    })),
  ],
  { prefix: 'name', killOthersOn: ['failure'], restartTries: 0 },
);

result.then(
  () => process.exit(0),
  () => process.exit(1),
);
