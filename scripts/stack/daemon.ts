import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A background process that `up` started and `down` stops, known by its pid file. */
export interface Daemon {
  name: string;
  pidFile: string;
  logFile: string;
}

export function runningPid(daemon: Daemon): number | undefined {
  if (!existsSync(daemon.pidFile)) return undefined;
  const pid = Number(readFileSync(daemon.pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Starts a detached process writing to its log file; it outlives this script. */
export function startDaemon(daemon: Daemon, command: string, args: string[], cwd: string): number {
  mkdirSync(path.dirname(daemon.logFile), { recursive: true });
  const log = openSync(daemon.logFile, 'a');
  const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', log, log] });
  child.unref();
  writeFileSync(daemon.pidFile, String(child.pid));
  return child.pid!;
}

/** SIGTERM, then SIGKILL if it has not gone after the grace period. Only ever the pid this stack recorded. */
export async function stopDaemon(daemon: Daemon, graceMs = 30_000): Promise<boolean> {
  const pid = runningPid(daemon);
  rmSync(daemon.pidFile, { force: true });
  if (pid === undefined) return false;
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  process.kill(-pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await sleep(200);
  if (alive()) process.kill(-pid, 'SIGKILL');
  while (alive()) await sleep(100);
  return true;
}

export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls until `check` is true, or fails with `what` after the deadline; `alive` cuts the wait short. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  { timeoutMs = 60_000, alive = () => true }: { timeoutMs?: number; alive?: () => boolean } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    if (!alive()) throw new Error(`${what}: the process exited`);
    await sleep(250);
  }
  throw new Error(`${what}: not ready after ${Math.round(timeoutMs / 1000)} s`);
}

export function tail(file: string, lines = 20): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
