/**
 * The raw limits: what each library the gateway uses reaches on this machine on its own, measured in the same run as
 * the gateway so the gateway's stages can be given as a ratio to them.
 *
 * One module per measurement (*.raw.ts), run one after another (they would compete for the same two cores), each
 * cleaning up what it created. One that fails reports NaN and says why; the others still run. ~60 s in all.
 */
import { measureKafkaConsume } from './kafka-consume.raw.js';
import { measurePgClaims } from './pg-claims.raw.js';
import { errorText, withTimeout } from './shared.js';
import { measureMaildev, measureSmtpSink } from './smtp.raw.js';
import { measureSocketIoEmit } from './socketio-emit.raw.js';
import { measureTemplateRenders } from './template-render.raw.js';
import { measureTwilioCreate } from './twilio-create.raw.js';

export interface RawLimits {
  /** kafkajs eachBatch consume-and-discard of a pre-filled 3-partition topic, records/s. */
  kafkaConsumePerSec: number;
  /** Socket.IO room emit (Redis adapter) to client receipt, 1,000 clients connected, alerts/s. */
  socketIoEmitPerSec: number;
  /** Socket.IO emit-to-receipt latency p99 at that rate, ms. */
  socketIoP99Ms: number;
  /** Precompiled Handlebars template renders/s (the gateway's renderer, one core). */
  templateRendersPerSec: number;
  /** nodemailer's pool into Postfix's smtp-sink, emails/s (NaN when smtp-sink cannot be had). */
  smtpSinkPerSec: number;
  /** nodemailer's pool into MailDev, emails/s. */
  maildevPerSec: number;
  /** twilio SDK messages.create against the sandbox, messages/s. */
  twilioCreatePerSec: number;
  /** Batched claim inserts (INSERT … ON CONFLICT in pages) into PostgreSQL, rows/s. */
  pgClaimInsertsPerSec: number;
}

export type Progress = (line: string) => void;

/**
 * A last resort only: every wait inside a measurement is bounded already. On expiry the measurement is reported as
 * NaN; its own cleanup still runs when it finally returns.
 */
const MEASUREMENT_TIMEOUT_MS = 45_000;

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
const figure = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'NaN');

/** Runs one measurement between a "starting" and a result line; any failure becomes `failed` (NaNs). */
async function measure<T>(
  progress: Progress,
  name: string,
  run: () => Promise<T>,
  show: (result: T) => string,
  failed: T,
): Promise<T> {
  const started = performance.now();
  progress(`raw ${name}: starting`);
  try {
    const result = await withTimeout(run(), MEASUREMENT_TIMEOUT_MS, name);
    progress(`raw ${name}: ${show(result)} (${seconds(started)})`);
    return result;
  } catch (error) {
    progress(`raw ${name}: could not run, NaN: ${errorText(error)} (${seconds(started)})`);
    return failed;
  }
}

/** The raw limits the channels are held to when each is loaded alone: Socket.IO emit, smtp-sink, twilio create. */
export type ChannelRawLimits = Pick<
  RawLimits,
  'socketIoEmitPerSec' | 'socketIoP99Ms' | 'smtpSinkPerSec' | 'twilioCreatePerSec'
>;

// What a measurement says along the way (its own detail lines) gets the same prefix as the result lines.
const innerOf =
  (progress: Progress): Progress =>
  (line) =>
    progress(`raw ${line}`);
const perSec = (unit: string) => (value: number) => `${figure(value)} ${unit}/s`;

const socketIoEmit = (progress: Progress) =>
  measure(
    progress,
    'socket.io emit',
    () => measureSocketIoEmit(innerOf(progress)),
    (r) => `${figure(r.perSec)} alerts/s, p99 ${r.p99Ms.toFixed(1)} ms`,
    { perSec: NaN, p99Ms: NaN },
  );
const smtpSink = (progress: Progress) =>
  measure(progress, 'smtp-sink', () => measureSmtpSink(innerOf(progress)), perSec('emails'), NaN);
const twilioCreate = (progress: Progress) =>
  measure(progress, 'twilio create', () => measureTwilioCreate(innerOf(progress)), perSec('messages'), NaN);

/** Only the channels' limits (~25 s): for a run of the channels part without the raw part. */
export async function runChannelRawLimits(progress: Progress): Promise<ChannelRawLimits> {
  const socketIo = await socketIoEmit(progress);
  const smtpSinkPerSec = await smtpSink(progress);
  const twilioCreatePerSec = await twilioCreate(progress);
  return { socketIoEmitPerSec: socketIo.perSec, socketIoP99Ms: socketIo.p99Ms, smtpSinkPerSec, twilioCreatePerSec };
}

export async function runRawLimits(progress: Progress): Promise<RawLimits> {
  const kafkaConsumePerSec = await measure(
    progress,
    'kafka consume',
    () => measureKafkaConsume(innerOf(progress)),
    perSec('records'),
    NaN,
  );
  const socketIo = await socketIoEmit(progress);
  const templateRendersPerSec = await measure(
    progress,
    'template render',
    measureTemplateRenders,
    perSec('renders'),
    NaN,
  );
  const smtpSinkPerSec = await smtpSink(progress);
  const maildevPerSec = await measure(
    progress,
    'maildev',
    () => measureMaildev(innerOf(progress)),
    perSec('emails'),
    NaN,
  );
  const twilioCreatePerSec = await twilioCreate(progress);
  const pgClaimInsertsPerSec = await measure(
    progress,
    'pg claims',
    () => measurePgClaims(innerOf(progress)),
    perSec('rows'),
    NaN,
  );

  return {
    kafkaConsumePerSec,
    socketIoEmitPerSec: socketIo.perSec,
    socketIoP99Ms: socketIo.p99Ms,
    templateRendersPerSec,
    smtpSinkPerSec,
    maildevPerSec,
    twilioCreatePerSec,
    pgClaimInsertsPerSec,
  };
}
