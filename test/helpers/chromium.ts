import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's Chromium: the only browser these machines can get (a test tool's own browser download is refused). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for a root user on a machine with a closed network: without the background-networking ones Chromium keeps
 * trying Google's hosts at every start. A fresh user-data dir comes from `launchPersistentContext`.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Debian's packages: the browser, and a colour emoji font so that screenshots show the emoji the WhatsApp templates
 * use instead of empty boxes (Chromium's own recommends are skipped: they pull in far more than a test needs).
 */
const PACKAGES = ['chromium', 'fonts-noto-color-emoji'];

/** apt on a fresh machine: the index update plus ~100 MB of packages. */
const INSTALL_TIMEOUT_MS = 10 * 60_000;

/**
 * The Chromium executable, installed from Debian's packages when missing (CI is a fresh machine and runs as root).
 * Prints a progress line per step, since the first run spends minutes here.
 */
export async function ensureChromium(): Promise<string> {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${CHROMIUM_PATH} is missing; install it with: sudo apt-get install -y --no-install-recommends ${PACKAGES.join(' ')}`,
    );
  }
  const started = Date.now();
  const deadline = started + INSTALL_TIMEOUT_MS;
  log(
    `${CHROMIUM_PATH} is missing: installing ${PACKAGES.join(' ')} from Debian (up to ${INSTALL_TIMEOUT_MS / 60_000} min)`,
  );
  await run('apt-get', ['update'], deadline);
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...PACKAGES], deadline);
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is still missing`);
  log(`chromium installed in ${Math.round((Date.now() - started) / 1000)} s`);
  return CHROMIUM_PATH;
}

function log(line: string): void {
  process.stderr.write(`[chromium] ${line}\n`);
}

/** Runs a command, echoing a line of its output every few seconds at most; fails on a non-zero exit or the deadline. */
function run(command: string, args: string[], deadline: number): Promise<void> {
  const what = `${command} ${args.join(' ')}`;
  log(`running: ${what}`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lastPrinted = 0;
    let tail = '';
    const onData = (chunk: Buffer) => {
      const lines = chunk
        .toString()
        .split('\n')
        .filter((l) => l.trim());
      tail = [tail, ...lines].join('\n').slice(-2000);
      if (lines.length && Date.now() - lastPrinted > 3000) {
        lastPrinted = Date.now();
        log(`  ${lines.at(-1)!.trim().slice(0, 160)}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(
      () => {
        child.kill('SIGTERM');
        reject(new Error(`${what} did not finish in time`));
      },
      Math.max(1000, deadline - Date.now()),
    );
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${what} could not start: ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${what} exited with ${code}:\n${tail}`));
    });
  });
}
