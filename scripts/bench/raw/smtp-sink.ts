/**
 * Postfix's smtp-sink: an SMTP server that accepts everything and keeps nothing, so a sender's rate into it is the
 * sender's own limit. Used by the raw limits and, through `startSmtpSink`, by the gateway benchmark (SMTP_URL).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../../../src/util/free-port.js';
import { sleep } from './shared.js';

export interface SmtpSink {
  /** `smtp://127.0.0.1:<port>`, ready to be an SMTP_URL. */
  url: string;
  host: string;
  port: number;
  /** Ends the sink (SIGTERM, then SIGKILL); safe to call twice. */
  stop(): Promise<void>;
}

export interface StartSmtpSinkOptions {
  /** Install Debian's postfix package when the binary is missing (root only). Default true. */
  install?: boolean;
  /** Where to say what is going on (an install takes a while). */
  progress?: (line: string) => void;
}

// Debian puts it in /usr/sbin; other layouts keep it with postfix's daemons.
const KNOWN_PATHS = ['/usr/sbin/smtp-sink', '/usr/lib/postfix/sbin/smtp-sink', '/usr/libexec/postfix/smtp-sink'];
/** Connections waiting to be accepted: the pool opens its connections all at once. */
const BACKLOG = 1000;

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The smtp-sink binary on this machine, if any. */
export function findSmtpSink(): string | undefined {
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, 'smtp-sink'));
  return [...KNOWN_PATHS, ...onPath].find(isExecutable);
}

function run(command: string, args: string[], input?: string, timeoutMs = 240_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const child = execFile(command, args, { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, _out, stderr) =>
      error
        ? reject(new Error(`${command} ${args.join(' ')}: ${stderr.trim().split('\n').pop() ?? error.message}`))
        : resolve(),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * apt-get install postfix, with an update first only if the plain install fails (stale or empty lists). "No
 * configuration" is preseeded so that postfix's own daemon is neither configured nor started: only the binary is wanted.
 */
async function installPostfix(progress: (line: string) => void): Promise<void> {
  progress('smtp-sink: not found, installing Debian package postfix (apt-get)…');
  await run('debconf-set-selections', [], 'postfix postfix/main_mailer_type select No configuration\n').catch(
    () => undefined,
  );
  const install = () =>
    run('apt-get', ['install', '-y', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confdef', 'postfix']);
  await install().catch(async () => {
    await run('apt-get', ['update']);
    await install();
  });
}

/** Resolves once something accepts connections on the port; fails if the process exits or nothing listens in time. */
async function waitForListening(child: ChildProcess, port: number, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`smtp-sink exited (${child.exitCode ?? child.signalCode})`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`smtp-sink not listening on ${port} after ${timeoutMs} ms`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts smtp-sink on a free 127.0.0.1 port; undefined (with a progress line saying why) when it cannot be had.
 * Run as root it must drop privileges (-u nobody): smtp-sink refuses to run as root otherwise.
 */
export async function startSmtpSink({ install = true, progress = () => {} }: StartSmtpSinkOptions = {}): Promise<
  SmtpSink | undefined
> {
  let binary = findSmtpSink();
  const isRoot = process.getuid?.() === 0;
  if (!binary && install && isRoot) {
    await installPostfix(progress).catch((error: Error) => progress(`smtp-sink: install failed: ${error.message}`));
    binary = findSmtpSink();
  }
  if (!binary) {
    progress(`smtp-sink: not available${isRoot ? '' : ' (not root, so postfix was not installed)'}`);
    return undefined;
  }
  const host = '127.0.0.1';
  const port = await freePort(host);
  const args = [...(isRoot ? ['-u', 'nobody'] : []), `${host}:${port}`, String(BACKLOG)];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  child.once('error', () => undefined); // a spawn failure shows up as the exit waitForListening sees
  // If our process ends without stop() (an uncaught error), the sink must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    await stopChild(child);
  };
  try {
    await waitForListening(child, port);
  } catch (error) {
    await stop();
    progress(`smtp-sink: did not start: ${(error as Error).message} ${stderr.trim()}`);
    return undefined;
  }
  return { url: `smtp://${host}:${port}`, host, port, stop };
}
