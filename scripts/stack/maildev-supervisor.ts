/**
 * Keeps the local SMTP capture alive: MailDev runs as this process's child and is started again whenever it exits.
 * MailDev 2 can die on its own (its "delete all" removes files that mail arriving at the same moment still reads:
 * ENOENT, an uncaught error), and a capture that stays dead fails every email until someone notices. Its mail is kept
 * in a directory it reads back when it starts, so a restart loses nothing it had caught.
 *   tsx scripts/stack/maildev-supervisor.ts <maildev arguments…>
 */
import { createRequire } from 'node:module';
import type { ChildProcess } from 'node:child_process';

interface Monitor {
  start(): void;
  stop(done?: () => void): void;
  on(event: 'spawn', listener: (child: ChildProcess) => void): void;
  on(event: 'exit', listener: (code: number | null, signal: string | null) => void): void;
  on(event: 'stdout' | 'stderr', listener: (data: Buffer) => void): void;
}
type Respawn = (command: string[], options: Record<string, unknown>) => Monitor;

const require = createRequire(import.meta.url);
const respawn = require('respawn') as Respawn;
const maildev = require.resolve('maildev/bin/maildev');

const monitor = respawn([process.execPath, maildev, ...process.argv.slice(2)], {
  // However often it dies: a capture that gives up is the failure this exists to prevent.
  maxRestarts: -1,
  sleep: 500,
  kill: 5_000,
  stdio: ['ignore', 'inherit', 'inherit'],
});
const stamp = () => new Date().toISOString();
monitor.on('spawn', (child) => console.log(`${stamp()} maildev-supervisor: MailDev started (pid ${child.pid})`));
monitor.on('exit', (code, signal) =>
  console.log(`${stamp()} maildev-supervisor: MailDev exited (${signal ?? `code ${code}`}); starting it again`),
);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => monitor.stop(() => process.exit(0)));
}
monitor.start();
