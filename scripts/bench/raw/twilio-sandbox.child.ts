/**
 * The Twilio sandbox alone in a process, for twilio-create.raw.ts: in the bench's own process it would share one
 * event loop with the SDK client that loads it. Prints `{"url": …}` once listening; ends when its stdin closes (the
 * parent ended or is done) or on SIGTERM, so it never outlives the bench.
 */
import { createLogger } from '../../../src/logger.js';
import { buildSandboxApp } from '../../../src/sandbox/sandbox.app.js';

const { app } = await buildSandboxApp({
  accountSid: process.env.SANDBOX_ACCOUNT_SID ?? 'AC00000000000000000000000000000000',
  authToken: process.env.SANDBOX_AUTH_TOKEN ?? 'dev-twilio-token',
  logger: createLogger({ level: 'silent' }),
  // Room for every message of the run: evicting the oldest would be work the real sandbox does not do at this size.
  capacity: 500_000,
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ url })}\n`);

let closing = false;
const close = () => {
  if (closing) return;
  closing = true;
  const force = setTimeout(() => process.exit(1), 3_000);
  void app.close().finally(() => {
    clearTimeout(force);
    process.exit(0);
  });
};
process.stdin.on('end', close).on('error', close).resume();
process.once('SIGTERM', close);
process.once('SIGINT', close);
