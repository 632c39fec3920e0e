/**
 * A run that was killed outright (SIGKILL, the machine's OOM killer) never reaches its teardown and leaves a database
 * of a few GB and dozens of topics behind. Each deployment notes what it created, with its pid, in
 * bench/results/.running/; the next run removes what a dead pid left.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Admin } from 'kafkajs';
import { eventQueues } from '../../../src/queue/event-queues.js';
import { deleteKafkaResources } from './kafka-resources.js';
import { deleteQueues } from './readiness.js';
import { errorText, type Progress } from './timing.js';

const DIR = fileURLToPath(new URL('../../../bench/results/.running', import.meta.url));

export interface RunRecord {
  pid: number;
  prefix: string;
  database: string;
  /** The role processes it started, and the smtp-sink's address: a SIGKILLed bench leaves them running. */
  children: number[];
  smtpSink?: string;
}

export function recordRun(hex: string, record: RunRecord): void {
  mkdirSync(DIR, { recursive: true });
  writeFileSync(path.join(DIR, `${hex}.json`), JSON.stringify(record));
}

export function forgetRun(hex: string): void {
  rmSync(path.join(DIR, `${hex}.json`), { force: true });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
};

const procText = (pid: number, file: string) => {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
};

/** Kills the dead run's own processes: by recorded pid, and only if that pid is still what the run started. */
function killOrphans(record: RunRecord): void {
  for (const pid of record.children) {
    if (
      procText(pid, 'cmdline').includes('src/main.ts') &&
      procText(pid, 'environ').includes(`KAFKA_TOPIC_PREFIX=${record.prefix}`)
    )
      process.kill(pid, 'SIGKILL');
  }
  if (!record.smtpSink) return;
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    const cmdline = procText(Number(entry), 'cmdline');
    if (cmdline.includes('smtp-sink') && cmdline.includes(` ${record.smtpSink} `))
      process.kill(Number(entry), 'SIGKILL');
  }
}

/** Removes what runs whose process is gone left behind; `drop` drops a database by name. */
export async function sweepDeadRuns({
  admin,
  amqpUrl,
  drop,
  progress,
}: {
  admin: Admin;
  amqpUrl: string;
  drop: (database: string) => Promise<void>;
  progress: Progress;
}): Promise<void> {
  let files: string[] = [];
  try {
    files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return; // no run ever recorded
  }
  for (const file of files) {
    const hex = file.slice(0, -'.json'.length);
    let record: RunRecord;
    try {
      record = JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as RunRecord;
    } catch {
      forgetRun(hex);
      continue;
    }
    if (alive(record.pid)) continue; // another bench running right now
    progress(`gateway: removing what a killed run left (${record.prefix}, ${record.database})`);
    try {
      killOrphans(record);
      await drop(record.database);
      const queues = eventQueues(record.prefix);
      await deleteQueues(amqpUrl, [queues.events, queues.deadLetters]).catch(() => undefined);
      // The killed workers' members stay in their groups until their 6 s sessions end.
      await deleteKafkaResources(admin, record.prefix, 12_000);
      forgetRun(hex);
    } catch (error) {
      progress(`gateway: could not remove ${record.prefix} yet: ${errorText(error)}`);
    }
  }
}
