import { buildSandboxApp, type SandboxHandle } from '../../src/sandbox/sandbox.app.js';
import { freePort } from '../../src/util/free-port.js';
import { freshDatabase } from './full-gateway.js';
import { testConfig, testLogger, uniquePrefix } from './kafka.js';

/**
 * What gateway processes of a test's own need before they start: a prefix for topics and queues, a database, the
 * Twilio sandbox in the test's process (where the test reads what it received) and the environment that points at them.
 */
export async function prepareGatewayEnv(label: string, extraEnv: Record<string, string> = {}) {
  const prefix = uniquePrefix(label);
  const database = await freshDatabase(testConfig(prefix).DATABASE_URL);
  // Twilio signs its status callbacks against the api's address, so that address is fixed before anything starts.
  const apiPort = await freePort();
  const base = testConfig(prefix);
  const sandbox: SandboxHandle = await buildSandboxApp({
    accountSid: base.TWILIO_ACCOUNT_SID,
    authToken: base.TWILIO_AUTH_TOKEN,
    logger: testLogger,
    capacity: 50_000,
  });
  const sandboxUrl = await sandbox.app.listen({ host: '127.0.0.1', port: 0 });
  const env: Record<string, string> = {
    KAFKA_TOPIC_PREFIX: prefix,
    AMQP_QUEUE_PREFIX: prefix,
    DATABASE_URL: database.url,
    TWILIO_API_BASE_URL: sandboxUrl,
    PUBLIC_URL: `http://127.0.0.1:${apiPort}`,
    ...extraEnv,
  };
  return { prefix, database, apiPort, sandbox, env, config: testConfig(prefix, env) };
}
