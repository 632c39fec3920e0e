/**
 * RSS and CPU of the gateway's processes (and of the stack's servers, which share the same two cores), read from
 * /proc once a second. CPU is the change in utime+stime between samples, so 100 % is one core. `machine` is every
 * core together (200 % on two) and `others` what no known process accounts for: other work on the machine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

const CLOCK_TICKS_PER_S = 100; // USER_HZ: 100 on every Linux build this runs on (getconf CLK_TCK)

export interface ProcTarget {
  name: string;
  /** gateway role, `bench` for this process, `stack` for the servers. */
  role: string;
  pids: () => number[];
}

export interface ProcSample {
  /** ms since the sampler started */
  t: number;
  rssMb: number;
  cpuPct: number;
}

export interface ProcSummary {
  name: string;
  role: string;
  maxRssMb: number;
  avgCpuPct: number;
  maxCpuPct: number;
  /** CPU time the process used over the window, in ms: what a cost per delivery divides. */
  cpuMs: number;
  /** What cpuMs covers: from the window's first sample to its last (up to a second short of the window). */
  spanMs: number;
}

function readProc(pid: number): { ticks: number; rssKb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: the fields that follow start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat(5))
    const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { ticks, rssKb: rss ? Number(rss[1]) : 0 };
  } catch {
    return undefined; // gone between listing and reading
  }
}

/** A PostgreSQL backend's title: `postgres: <cluster>: <user> <database> <host(port) | [local]> <state>`. */
const PG_BACKEND = /^postgres: [^:]*: \S+ (\S+) (?:[\d.:a-fA-F]+\(\d+\)|\[local\])/;
/** An autovacuum worker names the database it works on. */
const PG_AUTOVACUUM = /^postgres: [^:]*: autovacuum worker (\S+)/;

/**
 * pids whose comm (and, for java/node, command line) says which server they are; rescanned as backends come and go.
 * With `database`, PostgreSQL is the server's own processes and the backends of that database only: the stack is
 * shared, and another user's tests on other databases are not the bench's cost (they fall under `others`).
 */
function stackPids(database?: string): Record<string, number[]> {
  const found: Record<string, number[]> = {
    kafka: [],
    postgres: [],
    redis: [],
    rabbitmq: [],
    'smtp-sink': [],
    maildev: [],
  };
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      const pid = Number(entry);
      if (comm === 'postgres') {
        const title = database ? readFileSync(`/proc/${entry}/cmdline`, 'utf8') : '';
        const backendOf = (PG_BACKEND.exec(title) ?? PG_AUTOVACUUM.exec(title))?.[1];
        if (!backendOf || backendOf === database) found.postgres!.push(pid);
      } else if (comm.startsWith('redis-server')) found.redis!.push(pid);
      else if (comm === 'beam.smp') found.rabbitmq!.push(pid);
      else if (comm === 'smtp-sink') found['smtp-sink']!.push(pid);
      else if (comm === 'java' || comm === 'node') {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
        if (comm === 'java' && cmdline.includes('kafka.Kafka')) found.kafka!.push(pid);
        else if (comm === 'node' && cmdline.includes('maildev')) found.maildev!.push(pid);
      }
    } catch {
      // a process that ended while we looked
    }
  }
  return found;
}

export function stackTargets(database?: string): ProcTarget[] {
  let cache: Record<string, number[]> = {};
  let scannedAt = 0;
  const pidsOf = (name: string) => () => {
    if (performance.now() - scannedAt > 5_000) {
      cache = stackPids(database);
      scannedAt = performance.now();
    }
    return cache[name] ?? [];
  };
  return ['kafka', 'postgres', 'redis', 'rabbitmq', 'smtp-sink', 'maildev'].map((name) => ({
    name,
    role: 'stack',
    pids: pidsOf(name),
  }));
}

/** The whole machine from /proc/stat (jiffies busy and total over every core) and /proc/meminfo (used memory). */
function readMachine(): { busy: number; total: number; usedKb: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3]! + fields[4]!; // idle + iowait
  const mem = readFileSync('/proc/meminfo', 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(mem)?.[1] ?? 0);
  return { busy: total - idle, total, usedKb: kb('MemTotal') - kb('MemAvailable') };
}

export function createProcSampler(targets: () => ProcTarget[]) {
  const origin = performance.now();
  const series = new Map<string, { role: string; samples: ProcSample[] }>();
  let last = new Map<number, { ticks: number; at: number }>();
  let lastMachine = readMachine();
  const cores = cpus().length;
  const push = (name: string, role: string, sample: ProcSample) => {
    const entry = series.get(name) ?? { role, samples: [] };
    entry.samples.push(sample);
    series.set(name, entry);
  };

  function sample(): void {
    const now = performance.now();
    const seen = new Map<number, { ticks: number; at: number }>();
    let knownPct = 0;
    for (const target of targets()) {
      let rssKb = 0;
      let deltaTicks = 0;
      let elapsedS = 0;
      for (const pid of target.pids()) {
        const proc = readProc(pid);
        if (!proc) continue;
        rssKb += proc.rssKb;
        const before = last.get(pid);
        // A pid first seen now has no interval yet; its CPU counts from the next sample.
        if (before) {
          deltaTicks += Math.max(0, proc.ticks - before.ticks);
          elapsedS = Math.max(elapsedS, (now - before.at) / 1000);
        }
        seen.set(pid, { ticks: proc.ticks, at: now });
      }
      if (rssKb === 0) continue;
      const cpuPct = elapsedS > 0 ? (deltaTicks / CLOCK_TICKS_PER_S / elapsedS) * 100 : 0;
      knownPct += cpuPct;
      push(target.name, target.role, {
        t: Math.round(now - origin),
        rssMb: Math.round(rssKb / 102.4) / 10,
        cpuPct: Math.round(cpuPct),
      });
    }
    last = seen;
    // The machine as a whole, and what is neither the gateway, the bench nor the stack (other users of the cores).
    const machine = readMachine();
    const machinePct =
      ((machine.busy - lastMachine.busy) / Math.max(1, machine.total - lastMachine.total)) * cores * 100;
    lastMachine = machine;
    const t = Math.round(now - origin);
    push('machine', 'machine', { t, rssMb: Math.round(machine.usedKb / 102.4) / 10, cpuPct: Math.round(machinePct) });
    push('others', 'machine', { t, rssMb: 0, cpuPct: Math.max(0, Math.round(machinePct - knownPct)) });
  }

  /** Per process over [fromMs, toMs] (ms since the sampler started; the whole run by default). */
  function summary(fromMs = 0, toMs = Infinity): ProcSummary[] {
    return [...series].flatMap(([name, { role, samples }]) => {
      const inWindow = samples.filter((s) => s.t >= fromMs && s.t <= toMs);
      if (inWindow.length === 0) return [];
      const cpu = inWindow.slice(1).map((s) => s.cpuPct);
      // Each sample's percentage is over the interval since the one before it.
      const cpuMs = inWindow.slice(1).reduce((sum, s, i) => sum + (s.cpuPct / 100) * (s.t - inWindow[i]!.t), 0);
      return [
        {
          name,
          role,
          maxRssMb: Math.max(...inWindow.map((s) => s.rssMb)),
          avgCpuPct: cpu.length ? Math.round(cpu.reduce((a, b) => a + b, 0) / cpu.length) : 0,
          maxCpuPct: cpu.length ? Math.max(...cpu) : 0,
          cpuMs: Math.round(cpuMs),
          spanMs: inWindow.at(-1)!.t - inWindow[0]!.t,
        },
      ];
    });
  }

  return {
    sample,
    summary,
    now: () => Math.round(performance.now() - origin),
    series: () => Object.fromEntries([...series].map(([name, s]) => [name, s])),
  };
}

export type ProcSampler = ReturnType<typeof createProcSampler>;
