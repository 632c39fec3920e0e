import { createRequire } from 'node:module';
import path from 'node:path';
import { portOpen, runningPid, startDaemon, stopDaemon, tail, waitUntil, type Daemon } from './daemon.js';
import { MAILDEV_DIR, ROOT } from './paths.js';

export const maildevDaemon: Daemon = {
  name: 'maildev',
  pidFile: path.join(MAILDEV_DIR, 'maildev.pid'),
  logFile: path.join(MAILDEV_DIR, 'maildev.log'),
};

/** MailDev catches every email the gateway sends (SMTP) and shows it (web UI and REST API /email). */
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
    const bin = createRequire(import.meta.url).resolve('maildev/bin/maildev');
    const args = [bin, '--smtp', String(smtpPort), '--web', String(webPort), '--ip', smtp.hostname, '--silent'];
    const pid = startDaemon(maildevDaemon, process.execPath, args, ROOT);
    log(`maildev: started (pid ${pid}), SMTP ${smtp.host}, UI ${previewUrl}`);
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
