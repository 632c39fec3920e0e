import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KEPT_LINES = 200;

/** A gateway worker in a process of its own (`tsx src/main.ts --role worker`), as a fault test needs it: killable. */
export interface WorkerProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Set once the process is gone, by whatever means. */
  readonly exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Its last lines of stdout and stderr (up to 200), for a failure message. */
  output(lines?: number): string;
  /** kill -9: no shutdown hook runs, no consumer leaves its group; the broker finds out when the session times out. */
  crash(): Promise<void>;
  /** SIGTERM (the worker stops its consumers), then SIGKILL if it is still there after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** `roles` as `--role` takes them: a worker by default, or the whole gateway as `npm start` runs it. */
export function spawnWorker(name: string, env: Record<string, string>, roles = 'worker'): WorkerProcess {
  // WORKER_LOG_LEVEL=info shows what a worker did (its last lines are printed when a test fails).
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', roles], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: process.env.WORKER_LOG_LEVEL ?? 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`worker ${name} did not start`);
  const lines: string[] = [];
  const keep = (stream: string) => (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      lines.push(`[${name} ${stream}] ${line}`);
      if (lines.length > KEPT_LINES) lines.shift();
    }
  };
  child.stdout!.on('data', keep('out'));
  child.stderr!.on('data', keep('err'));
  let exit: WorkerProcess['exit'];
  const exited = once(child, 'exit').then(([code, signal]) => {
    exit = { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });

  const gone = () => exit !== undefined;
  return {
    name,
    pid: child.pid,
    child,
    get exit() {
      return exit;
    },
    output: (count = KEPT_LINES) => lines.slice(-count).join('\n'),
    async crash() {
      if (gone()) return;
      process.kill(child.pid!, 'SIGKILL');
      await exited;
    },
    async stop(graceMs = 15_000) {
      if (gone()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => !gone() && child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
