/**
 * The gateway's role processes, started as a user starts them: `node --import tsx src/main.ts --role <role>` with
 * settings in the environment. node itself is spawned (not the tsx wrapper), so the pid is the process that does the
 * work and /proc/<pid> describes it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const KEPT_LINES = 60;

export type RoleName = 'sandbox' | 'api' | 'bridge' | 'worker';

export interface RoleProcess {
  readonly name: string;
  readonly role: RoleName;
  readonly pid: number;
  readonly exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Its last lines of output, for an error message when it fails. */
  output(): string;
  /** SIGTERM (the role stops its consumers and leaves its groups), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once: for a worker stuck on a backlog it would otherwise finish first. */
  kill(): Promise<void>;
}

/**
 * `BENCH_PROFILE_DIR`: each role process writes a V8 CPU profile there when it exits (`node --cpu-prof`, which
 * NODE_OPTIONS may not carry), named by its pid; open it in Chrome's DevTools, or sum its self time per function.
 */
const profiling = (): string[] => {
  const dir = process.env.BENCH_PROFILE_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
};

export function spawnRole(name: string, role: RoleName, env: Record<string, string>): RoleProcess {
  const args = [...profiling(), '--import', 'tsx', 'src/main.ts', '--role', role];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      lines.push(`[${name}] ${line.slice(0, 500)}`);
      if (lines.length > KEPT_LINES) lines.shift();
    }
  };
  // Both streams are read (the welcome text goes to stdout): a full pipe would block the child.
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exit: RoleProcess['exit'];
  const exited = once(child, 'exit').then(([code, signal]) => {
    exit = { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  // If the bench itself dies, its gateway must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));

  const gone = () => exit !== undefined;
  return {
    name,
    role,
    pid: child.pid,
    get exit() {
      return exit;
    },
    output: () => lines.join('\n'),
    async stop(graceMs = 5_000) {
      if (gone()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => !gone() && child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (gone()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Throws with the process's last output if one that should be running has exited. */
export function assertAlive(processes: RoleProcess[]): void {
  const dead = processes.find((p) => p.exit);
  if (dead) throw new Error(`${dead.name} exited (${JSON.stringify(dead.exit)}):\n${dead.output()}`);
}
