import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { portOpen, runningPid, startDaemon, stopDaemon, tail, waitUntil, type Daemon } from './daemon.js';
import { MAILDEV_DIR, ROOT } from './paths.js';

export const maildevDaemon: Daemon = {
  name: 'maildev',
  pidFile: path.join(MAILDEV_DIR, 'maildev.pid'),
  logFile: path.join(MAILDEV_DIR, 'maildev.log'),
};

const MAIL_DIR = path.join(MAILDEV_DIR, 'mail');
const SUPERVISOR = fileURLToPath(new URL('./maildev-supervisor.ts', import.meta.url));

/**
 * MailDev catches every email the gateway sends (SMTP) and shows it (web UI and REST API /email), under a supervisor
 * that starts it again whenever it exits (maildev-supervisor.ts).
 */
export async function startMaildev(smtpUrl: string, previewUrl: string, log: (line: string) => void): Promise<void> {
  const smtp = new URL(smtpUrl);
  const web = new URL(previewUrl);
  const smtpPort = Number(smtp.port || 25);
  const webPort = Number(web.port || 80);
  if (runningPid(maildevDaemon) === undefined) {
    if (await portOpen(smtp.hostname, smtpPort)) {
      log(`maildev: an SMTP server not started by this stack is listening on ${smtp.host}; leaving it alone`);
      return;
    }
    // A new stack starts with an empty capture; a MailDev the supervisor starts again reads back what it had.
    rmSync(MAIL_DIR, { recursive: true, force: true });
    mkdirSync(MAIL_DIR, { recursive: true });
    const maildevArgs = ['--smtp', String(smtpPort), '--web', String(webPort), '--ip', smtp.hostname];
    const args = ['--import', 'tsx', SUPERVISOR, ...maildevArgs, '--mail-directory', MAIL_DIR, '--silent'];
    const pid = startDaemon(maildevDaemon, process.execPath, args, ROOT);
    log(`maildev: started (supervisor pid ${pid}), SMTP ${smtp.host}, UI ${previewUrl}`);
  }
  await waitUntil(
    'maildev',
    async () => (await portOpen(smtp.hostname, smtpPort)) && (await portOpen(web.hostname, webPort)),
    { timeoutMs: 30_000, alive: () => runningPid(maildevDaemon) !== undefined },
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${tail(maildevDaemon.logFile)}`);
  });
}

export async function stopMaildev(): Promise<boolean> {
  return stopDaemon(maildevDaemon, 10_000);
}
