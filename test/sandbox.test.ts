import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { buildSandboxApp, type SandboxHandle } from '../src/sandbox/sandbox.app.js';
import type { Thread } from '../src/sandbox/sandbox.routes.js';
import { createTwilioClient } from '../src/channels/twilio-client.js';
import { unchangedFor, waitFor } from './helpers/wait-for.js';

/**
 * The real twilio SDK against the sandbox over HTTP: what the gateway's SMS and WhatsApp adapters will do.
 * Each test sends to its own numbers, so tests never see each other's messages.
 */
const ACCOUNT_SID = `AC${randomBytes(16).toString('hex')}`;
const AUTH_TOKEN = `token-${randomBytes(8).toString('hex')}`;
const SMS_FROM = '+15005550006';
const WHATSAPP_FROM = 'whatsapp:+14155238886';
const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', name: 'sandbox-test' });

let sandbox: SandboxHandle;
let baseUrl: string;
let client: twilio.Twilio;
let numberSeq = 1000 + Math.floor(Math.random() * 8000);

/** A valid US number no other test uses. */
function freshNumber(): string {
  numberSeq += 1;
  return `+1415555${String(numberSeq % 10_000).padStart(4, '0')}`;
}

/** The error a promise rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<twilio.RestException> {
  try {
    await promise;
  } catch (error) {
    return error as twilio.RestException;
  }
  throw new Error('expected the request to fail');
}

async function setFaults(faults: unknown): Promise<Response> {
  return fetch(`${baseUrl}/sandbox/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
}

beforeAll(async () => {
  sandbox = await buildSandboxApp({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, logger });
  baseUrl = await sandbox.app.listen({ port: 0, host: '127.0.0.1' });
  client = createTwilioClient({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl });
});

afterEach(() => sandbox.faults.clear());

afterAll(async () => {
  await sandbox?.app.close();
});

describe('creating and listing messages with the twilio SDK', () => {
  it('creates an SMS as Twilio does and lists it under its number only', async () => {
    const to = freshNumber();
    const message = await client.messages.create({ to, from: SMS_FROM, body: 'hi' });

    expect(message.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(message).toMatchObject({
      accountSid: ACCOUNT_SID,
      to,
      from: SMS_FROM,
      body: 'hi',
      status: 'queued',
      numSegments: '1',
      direction: 'outbound-api',
      apiVersion: '2010-04-01',
      errorCode: null,
      price: null,
      uri: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${message.sid}.json`,
    });
    expect(message.dateCreated).toBeInstanceOf(Date);
    expect(Math.abs(message.dateCreated.getTime() - Date.now())).toBeLessThan(5_000);

    const listed = await client.messages.list({ to });
    expect(listed.map((m) => m.sid)).toEqual([message.sid]);
    expect(await client.messages.list({ to: freshNumber() })).toEqual([]);
    expect((await client.messages(message.sid).fetch()).body).toBe('hi');
  });

  it('sends WhatsApp from a whatsapp: sender and lists it under the whatsapp: address', async () => {
    const number = freshNumber();
    const to = `whatsapp:${number}`;
    const message = await client.messages.create({
      to,
      from: WHATSAPP_FROM,
      body: 'Your train leaves from platform 3',
    });

    expect(message).toMatchObject({ to, from: WHATSAPP_FROM, status: 'queued' });
    expect((await client.messages.list({ to })).map((m) => m.sid)).toEqual([message.sid]);
    // Twilio matches To exactly: the SMS address of the same number is another conversation.
    expect(await client.messages.list({ to: number })).toEqual([]);
  });

  it('pages newest first, following next_page_uri back to the sandbox', async () => {
    const to = freshNumber();
    const sids: string[] = [];
    for (const body of ['one', 'two', 'three'])
      sids.push((await client.messages.create({ to, from: SMS_FROM, body })).sid);

    const page = await client.messages.page({ to, pageSize: 2 });
    expect(page.instances.map((m) => m.body)).toEqual(['three', 'two']);
    // The SDK composes next-page links on Twilio's host; the redirecting client takes them to the sandbox too.
    expect(page.nextPageUrl).toMatch(/^https:\/\/api\.twilio\.com\/2010-04-01\/.*PageToken=PA/);
    expect((await page.nextPage())?.instances.map((m) => m.body)).toEqual(['one']);
    expect((await client.messages.list({ to, pageSize: 2 })).map((m) => m.sid)).toEqual(sids.reverse());
    expect(await client.messages.list({ to, limit: 1 })).toHaveLength(1);
  });

  it('counts segments as carriers do', async () => {
    const to = freshNumber();
    const gsm = await client.messages.create({ to, from: SMS_FROM, body: 'a'.repeat(200) });
    const emoji = await client.messages.create({ to, from: SMS_FROM, body: `${'a'.repeat(69)}🚆` });
    expect(gsm.numSegments).toBe('2');
    expect(emoji.numSegments).toBe('2');
  });

  it('answers 404 with code 20404 for a message it does not have', async () => {
    const error = await rejection(client.messages(`SM${'0'.repeat(32)}`).fetch());
    expect(error).toBeInstanceOf(twilio.RestException);
    expect(error).toMatchObject({ status: 404, code: 20404 });
  });
});

describe('refusing what Twilio refuses', () => {
  it.each(['+1555', '+91 12345', '+4477009'])('rejects %s as an invalid To number (21211)', async (to) => {
    const error = await rejection(client.messages.create({ to, from: SMS_FROM, body: 'hi' }));
    expect(error).toBeInstanceOf(twilio.RestException);
    expect(error).toMatchObject({ status: 400, code: 21211, moreInfo: 'https://www.twilio.com/docs/errors/21211' });
    expect(error.message).toBe(`The 'To' number ${to} is not a valid phone number.`);
  });

  it('requires a body and a sender on the same channel as the recipient', async () => {
    const to = freshNumber();
    expect(await rejection(client.messages.create({ to, from: SMS_FROM }))).toMatchObject({ status: 400, code: 21602 });
    expect(await rejection(client.messages.create({ to, body: 'hi' }))).toMatchObject({ status: 400, code: 21603 });
    const mixed = client.messages.create({ to: `whatsapp:${to}`, from: SMS_FROM, body: 'hi' });
    expect(await rejection(mixed)).toMatchObject({ status: 400, code: 21910 });
    expect(await client.messages.list({ to: `whatsapp:${to}` })).toEqual([]);
  });

  it('refuses a wrong auth token or another account with 401 / 20003', async () => {
    const wrongToken = createTwilioClient({ accountSid: ACCOUNT_SID, authToken: 'not-the-token', baseUrl });
    const error = await rejection(wrongToken.messages.create({ to: freshNumber(), from: SMS_FROM, body: 'hi' }));
    expect(error).toBeInstanceOf(twilio.RestException);
    expect(error).toMatchObject({ status: 401, code: 20003, message: 'Authenticate' });

    const otherAccount = createTwilioClient({ accountSid: `AC${'f'.repeat(32)}`, authToken: AUTH_TOKEN, baseUrl });
    expect(await rejection(otherAccount.messages.list({}))).toMatchObject({ status: 401, code: 20003 });
  });
});

describe('faults', () => {
  it('fails the next create with 429 / 20429, then accepts again', async () => {
    expect((await setFaults({ failNext: { count: 1, code: 20429 } })).status).toBe(200);
    const to = freshNumber();

    const error = await rejection(client.messages.create({ to, from: SMS_FROM, body: 'hi' }));
    expect(error).toMatchObject({ status: 429, code: 20429 });
    const message = await client.messages.create({ to, from: SMS_FROM, body: 'hi' });
    expect(message.status).toBe('queued');
    expect(await client.messages.list({ to })).toHaveLength(1);
  });

  it('fails only the number a fault names, with the status given', async () => {
    const unlucky = freshNumber();
    sandbox.faults.set({ failNext: { count: 2, code: 20500, status: 500, to: unlucky } });

    await client.messages.create({ to: freshNumber(), from: SMS_FROM, body: 'unaffected' });
    expect(await rejection(client.messages.create({ to: unlucky, from: SMS_FROM, body: 'a' }))).toMatchObject({
      status: 500,
      code: 20500,
    });
    const viaWhatsApp = client.messages.create({ to: `whatsapp:${unlucky}`, from: WHATSAPP_FROM, body: 'b' });
    expect(await rejection(viaWhatsApp)).toMatchObject({ status: 500, code: 20500 });
    await client.messages.create({ to: unlucky, from: SMS_FROM, body: 'c' });
  });

  it('delays every create by latencyMs', async () => {
    await setFaults({ latencyMs: 300 });
    const started = performance.now();
    await client.messages.create({ to: freshNumber(), from: SMS_FROM, body: 'slow' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);

    await fetch(`${baseUrl}/sandbox/faults`, { method: 'DELETE' });
    const again = performance.now();
    await client.messages.create({ to: freshNumber(), from: SMS_FROM, body: 'fast' });
    expect(performance.now() - again).toBeLessThan(250);
  });

  it('refuses a malformed fault with a 400 that says what is wrong', async () => {
    const response = await setFaults({ failNext: { count: 0, code: 20429 }, latencyMs: 'slow' });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { message: string; code: number };
    expect(body.message).toMatch(/failNext\.count/);
    expect(body.message).toMatch(/latencyMs/);
    expect(await (await fetch(`${baseUrl}/sandbox/faults`)).json()).toEqual({
      failNext: [],
      latencyMs: 0,
      listLatencyMs: 0,
      undeliverable: [],
      dropCallbacks: false,
    });
  });
});

describe('status callbacks', () => {
  type Received = { url: string; signature: string; params: Record<string, string> };
  const received: Received[] = [];
  let receiver: Server;
  let receiverUrl: string;

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        const url = `${receiverUrl}${(request.url ?? '/').slice(1)}`;
        const signature = String(request.headers['x-twilio-signature'] ?? '');
        received.push({ url, signature, params: Object.fromEntries(new URLSearchParams(body)) });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    await new Promise((resolve) => receiver.close(resolve));
  });

  const callbacksFor = (sid: string) => received.filter((r) => r.params.MessageSid === sid);

  it('posts sent then delivered, each signed as Twilio signs them', async () => {
    const to = freshNumber();
    const statusCallback = `${receiverUrl}twilio/status?tenant=rail`;
    const message = await client.messages.create({
      to,
      from: SMS_FROM,
      body: 'Booking PNR123 confirmed',
      statusCallback,
    });

    const posts = await waitFor(
      'sent and delivered callbacks',
      () => callbacksFor(message.sid).length >= 2 && callbacksFor(message.sid),
    );
    expect(posts.map((p) => p.params.MessageStatus)).toEqual(['sent', 'delivered']);
    for (const post of posts) {
      expect(post.url).toBe(statusCallback);
      expect(post.params).toMatchObject({
        MessageSid: message.sid,
        SmsSid: message.sid,
        AccountSid: ACCOUNT_SID,
        To: to,
        From: SMS_FROM,
        ApiVersion: '2010-04-01',
      });
      expect(post.params.SmsStatus).toBe(post.params.MessageStatus);
      expect(post.params.ErrorCode).toBeUndefined();
      expect(twilio.validateRequest(AUTH_TOKEN, post.signature, post.url, post.params)).toBe(true);
      expect(twilio.validateRequest(AUTH_TOKEN, post.signature, post.url, { ...post.params, To: freshNumber() })).toBe(
        false,
      );
      expect(twilio.validateRequest('another-token', post.signature, post.url, post.params)).toBe(false);
    }
    const fetched = await client.messages(message.sid).fetch();
    expect(fetched.status).toBe('delivered');
    expect(fetched.dateSent).toBeInstanceOf(Date);
  });

  it('moves the stored status along even without a callback', async () => {
    const message = await client.messages.create({ to: freshNumber(), from: SMS_FROM, body: 'no callback' });
    await waitFor('delivery', async () => (await client.messages(message.sid).fetch()).status === 'delivered');
  });

  it('ends an undeliverable message in undelivered with the error code', async () => {
    const to = freshNumber();
    await setFaults({ undeliverable: { to, code: 30006 } });
    const message = await client.messages.create({
      to,
      from: SMS_FROM,
      body: 'to a landline',
      statusCallback: receiverUrl,
    });

    const posts = await waitFor(
      'undelivered callback',
      () => callbacksFor(message.sid).length >= 2 && callbacksFor(message.sid),
    );
    expect(posts.map((p) => [p.params.MessageStatus, p.params.ErrorCode])).toEqual([
      ['sent', undefined],
      ['undelivered', '30006'],
    ]);
    expect(posts.every((p) => twilio.validateRequest(AUTH_TOKEN, p.signature, p.url, p.params))).toBe(true);
    const fetched = await client.messages(message.sid).fetch();
    expect(fetched).toMatchObject({
      status: 'undelivered',
      errorCode: 30006,
      errorMessage: 'Landline or unreachable carrier',
    });
  });

  it('fails a message outright when the fault says failed', async () => {
    const to = freshNumber();
    sandbox.faults.set({ undeliverable: { to, code: 30003, status: 'failed' } });
    const message = await client.messages.create({
      to,
      from: SMS_FROM,
      body: 'never leaves',
      statusCallback: receiverUrl,
    });

    const [post] = await waitFor(
      'failed callback',
      () => callbacksFor(message.sid).length >= 1 && callbacksFor(message.sid),
    );
    expect(post?.params).toMatchObject({ MessageStatus: 'failed', ErrorCode: '30003' });
    // Nothing may follow a failure.
    await unchangedFor('callbacks after the failed one', () => callbacksFor(message.sid).length, 250);
    expect(callbacksFor(message.sid)).toHaveLength(1);
  });

  it('survives a callback target that is down', async () => {
    const deadUrl = 'http://127.0.0.1:9/status'; // discard port: nothing listens there
    const message = await client.messages.create({
      to: freshNumber(),
      from: SMS_FROM,
      body: 'x',
      statusCallback: deadUrl,
    });
    await waitFor(
      'delivery despite the dead callback',
      async () => (await client.messages(message.sid).fetch()).status === 'delivered',
    );
  });
});

describe('preview page', () => {
  it('serves a static shell and gives message text only as JSON, grouped per number', async () => {
    const number = freshNumber();
    const hostile = '<script>alert("pwned")</script><img src=x onerror=alert(1)>';
    await client.messages.create({ to: number, from: SMS_FROM, body: hostile });
    await client.messages.create({ to: `whatsapp:${number}`, from: WHATSAPP_FROM, body: 'Gate changed to B12' });

    const page = await fetch(`${baseUrl}/?to=${encodeURIComponent(number)}`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'sha256-/);
    const html = await page.text();
    expect(html).toContain('<main id="threads"');
    expect(html).toContain("fetch('/sandbox/messages'");
    expect(html).toContain('textContent');
    expect(html).not.toContain('pwned');
    expect(html).not.toContain('onerror');
    expect(html).not.toMatch(/innerHTML/);

    const response = await fetch(`${baseUrl}/sandbox/messages?to=${encodeURIComponent(number)}`);
    const { threads } = (await response.json()) as { threads: Thread[] };
    expect(threads.map((t) => t.number)).toEqual([number]);
    expect(threads[0]?.messages.map((m) => [m.channel, m.body])).toEqual([
      ['whatsapp', 'Gate changed to B12'],
      ['sms', hostile],
    ]);
    // A "+" typed raw into the query string arrives as a space; the sandbox reads it as the plus it was.
    const typed = (await (await fetch(`${baseUrl}/sandbox/messages?to=${number}`)).json()) as { threads: Thread[] };
    expect(typed.threads.map((t) => t.number)).toEqual([number]);
  });

  it('forgets every message on DELETE /sandbox/messages', async () => {
    const to = freshNumber();
    await client.messages.create({ to, from: SMS_FROM, body: 'to forget' });
    expect((await fetch(`${baseUrl}/sandbox/messages`, { method: 'DELETE' })).status).toBe(204);
    expect(await client.messages.list({ to })).toEqual([]);
    expect(sandbox.store.size).toBe(0);
  });
});

describe('createTwilioClient', () => {
  it('leaves the client untouched for Twilio itself', () => {
    const real = createTwilioClient({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      baseUrl: 'https://api.twilio.com/',
    });
    expect(real.httpClient.constructor).toBe(twilio.RequestClient);
    expect(real.api.baseUrl).toBe('https://api.twilio.com');
  });

  it('keeps a base URL path and refuses what is not a URL', async () => {
    expect(() =>
      createTwilioClient({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: 'sandbox:3100' }),
    ).toThrow(/http/);
    expect(() => createTwilioClient({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: 'nope' })).toThrow(
      /not a URL/,
    );
    const prefixed = createTwilioClient({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      baseUrl: `${baseUrl}/mounted/`,
    });
    // The sandbox is not mounted under /mounted, so the request reaching it proves the prefix was kept.
    expect(await rejection(prefixed.messages.list({}))).toMatchObject({ status: 404, code: 20404 });
  });
});
