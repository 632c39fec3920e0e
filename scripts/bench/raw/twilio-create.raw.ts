/**
 * The twilio SDK's messages.create as the gateway's SMS/WhatsApp adapters make it (createTwilioClient redirected to
 * the sandbox), 64 in flight, against the gateway's Twilio sandbox in a child process of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createTwilioClient } from '../../../src/channels/twilio-client.js';
import { closedLoop, withTimeout } from './shared.js';

const IN_FLIGHT = 64;
const WARMUP_MS = 1_000;
const DURATION_MS = 5_000;
const ACCOUNT_SID = 'AC00000000000000000000000000000000';
const AUTH_TOKEN = 'dev-twilio-token';
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./twilio-sandbox.child.ts', import.meta.url));
const BODY =
  'PNR 4521789630: booking confirmed. 12951 Mumbai Rajdhani, New Delhi 16:55 → Mumbai Central, 20 Dec, B4/32.';

interface Sandbox {
  url: string;
  stop(): Promise<void>;
}

/** Starts the sandbox child and waits for the URL it prints (tsx compiling on start takes a second or two). */
async function startSandbox(): Promise<Sandbox> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: REPO_ROOT,
    env: { ...process.env, SANDBOX_ACCOUNT_SID: ACCOUNT_SID, SANDBOX_AUTH_TOKEN: AUTH_TOKEN },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const stop = () => stopChild(child);
  try {
    const url = await withTimeout(firstUrl(child), 20_000, 'twilio sandbox start');
    return { url, stop };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message} ${stderr.trim()}`.trim());
  }
}

async function firstUrl(child: ChildProcess): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, 'exit').then(([code]) => Promise.reject(new Error(`twilio sandbox exited (${code})`)));
  const first = (async () => {
    for await (const line of lines) return (JSON.parse(line) as { url: string }).url;
    throw new Error('twilio sandbox printed nothing');
  })();
  return Promise.race([first, exited]);
}

/** Closing its stdin asks it to end; SIGKILL if it has not after 4 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 4_000);
  await exited;
  clearTimeout(timer);
}

/** +91 98xx xxxxxx: valid Indian mobile numbers, a different one each message as the gateway's would be. */
const phone = (i: number) => `+9198${String((i * 7919) % 100_000_000).padStart(8, '0')}`;

/** Messages created/s (HTTP 201 from the sandbox, parsed by the SDK). */
export async function measureTwilioCreate(progress: (line: string) => void): Promise<number> {
  const sandbox = await startSandbox();
  try {
    const client = createTwilioClient({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      baseUrl: sandbox.url,
      timeoutMs: 10_000,
    });
    return await closedLoop({
      concurrency: IN_FLIGHT,
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
      progress,
      label: 'twilio messages.create',
      op: async (i) => {
        await client.messages.create({ to: phone(i), from: '+15005550006', body: BODY });
      },
    });
  } finally {
    await sandbox.stop();
  }
}
