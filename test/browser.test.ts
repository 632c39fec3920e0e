import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, ensureChromium } from './helpers/chromium.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { INGEST_HEADERS } from './helpers/gateway.js';
import { bookingConfirmed } from './fixtures/events.js';
import { waitFor } from './helpers/wait-for.js';

const SCREENSHOTS = join(process.cwd(), 'test-results');
/** Installing Chromium on a fresh machine takes a while (apt update + ~100 MB), once. */
const SETUP_TIMEOUT_MS = 12 * 60_000;

/** The pages as a person uses them, in Debian's headless Chromium, against the whole gateway on the real servers. */
describe('the pages in a browser', () => {
  let gateway: Gateway;
  let context: BrowserContext;
  let profileDir: string;
  const pageErrors: string[] = [];
  const traveller = {
    userId: `browser-${randomBytes(3).toString('hex')}`,
    email: uniqueEmail('browser'),
    phone: uniquePhone(),
  };

  beforeAll(async () => {
    const executablePath = await ensureChromium();
    gateway = await startGateway('browser');
    await gateway.preferences.update(traveller.userId, { email: traveller.email, phone: traveller.phone });
    await gateway.itineraries.add({ userId: traveller.userId, vehicleKind: 'flight', vehicleNumber: 'W2121' });
    await warmUp();
    profileDir = mkdtempSync(join(tmpdir(), 'gateway-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await context?.close();
    await gateway?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  const postEvent = (body: unknown) =>
    fetch(`${gateway.apiUrl}/events`, { method: 'POST', headers: INGEST_HEADERS, body: JSON.stringify(body) });

  /**
   * One disruption through the whole path (HTTP → RabbitMQ → bridge → Kafka → websocket consumer) before the timed
   * one: the consumer groups join and the bridge's producer connects here, not inside the 2 s the test allows.
   */
  async function warmUp(): Promise<void> {
    const warm = `warm-${randomBytes(3).toString('hex')}`;
    await gateway.preferences.update(warm, { email: uniqueEmail('warm') });
    await gateway.itineraries.add({ userId: warm, vehicleKind: 'flight', vehicleNumber: 'WARM1' });
    expect((await postEvent({ type: 'GATE_CHANGE', flightNumber: 'WARM1', payload: { gate: '7' } })).status).toBe(202);
    await waitFor(
      'the warm-up alert in the inbox',
      async () => (await gateway.pool.query('SELECT 1 FROM inbox WHERE user_id = $1', [warm])).rowCount === 1,
      { timeoutMs: 60_000 },
    );
  }

  /** A user token as the pages get one (the development login). */
  async function logIn(userId: string): Promise<string> {
    const response = await fetch(`${gateway.apiUrl}/auth/dev-login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId }),
    });
    return ((await response.json()) as { token: string }).token;
  }

  async function openPage(path: string): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`${path}: ${error.message}`));
    await page.goto(`${gateway.apiUrl}${path}`);
    return page;
  }

  it('shows a flight delay POSTed to /events on the alerts page within 2 s', async () => {
    const page = await openPage('/alerts.html');
    await page.fill('#user-id', traveller.userId);
    await page.click('#login');
    await page.waitForSelector('#status[data-state="connected"]', { timeout: 10_000 });

    const response = await postEvent({
      type: 'FLIGHT_DELAY',
      flightNumber: 'W2121',
      payload: { minutes: 90, reason: 'weather' },
    });
    expect(response.status).toBe(202);
    const accepted = Date.now();
    const alert = await page.waitForSelector('[data-event-type="TRAVEL_DISRUPTION"]', { timeout: 2000 });
    const latencyMs = Date.now() - accepted;
    console.info(`alert shown ${latencyMs} ms after the 202`);

    const text = (await alert.textContent()) ?? '';
    expect(text).toContain('W2121');
    expect(text).toMatch(/90|1 h/);
    expect(await page.locator('#alerts > li').count()).toBe(1);
    expect(latencyMs).toBeLessThan(2000);
    await page.screenshot({ path: join(SCREENSHOTS, 'alerts-page.png'), fullPage: true });
    await page.close();
  });

  it('shows an unread badge while the page is hidden, and marks the alerts read once they are in view', async () => {
    const reader = {
      userId: `reader-${randomBytes(3).toString('hex')}`,
      flight: `R${randomBytes(2).toString('hex').toUpperCase()}`,
    };
    await gateway.itineraries.add({ userId: reader.userId, vehicleKind: 'flight', vehicleNumber: reader.flight });
    const token = await logIn(reader.userId);
    const unread = async () =>
      (
        (await (
          await fetch(`${gateway.apiUrl}/users/${reader.userId}/inbox/unread`, {
            headers: { authorization: `Bearer ${token}` },
          })
        ).json()) as { unread: number }
      ).unread;
    const setVisibility = (page: Page, state: 'hidden' | 'visible') =>
      page.evaluate((value) => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => value });
        document.dispatchEvent(new Event('visibilitychange'));
      }, state);
    const delay = (minutes: number) =>
      postEvent({ type: 'FLIGHT_DELAY', flightNumber: reader.flight, payload: { minutes, reason: 'weather' } });

    const page = await openPage('/alerts.html');
    await page.fill('#user-id', reader.userId);
    await page.click('#login');
    await page.waitForSelector('#status[data-state="connected"]', { timeout: 10_000 });
    expect(await page.textContent('#unread')).toBe('0 unread');

    // In another tab's background: the alert arrives, and stays unread.
    await setVisibility(page, 'hidden');
    expect((await delay(30)).status).toBe(202);
    await page.waitForSelector('#unread[data-count="1"]', { timeout: 10_000 });
    expect(await page.locator('#alerts > li').count()).toBe(1);
    expect(await unread()).toBe(1);

    // Looked at: marked read, on the server too.
    await setVisibility(page, 'visible');
    await page.waitForSelector('#unread[data-count="0"]', { timeout: 10_000 });
    await waitFor('the server to count it read', async () => (await unread()) === 0);

    // Read on another device: this page's badge follows (the inbox event).
    await setVisibility(page, 'hidden');
    expect((await delay(45)).status).toBe(202);
    await page.waitForSelector('#unread[data-count="1"]', { timeout: 10_000 });
    const readAll = await fetch(`${gateway.apiUrl}/users/${reader.userId}/inbox/read`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(readAll.status).toBe(200);
    await page.waitForSelector('#unread[data-count="0"]', { timeout: 10_000 });
    await page.screenshot({ path: join(SCREENSHOTS, 'alerts-unread.png'), fullPage: true });
    await page.close();
  });

  it('turns SMS off for disruptions on the preferences page, and the API then says so', async () => {
    const page = await openPage('/preferences.html');
    await page.fill('#user-id', traveller.userId);
    await page.click('#login');
    await page.waitForSelector('#status[data-state="ok"]', { timeout: 10_000 });
    expect(await page.inputValue('#contact-email')).toBe(traveller.email);
    const box = page.locator('#pref-TRAVEL_DISRUPTION-sms');
    expect(await box.isChecked()).toBe(true);

    await box.uncheck();
    await page.click('#save');
    await page.waitForSelector('#save-status[data-state="saved"]', { timeout: 10_000 });

    const token = await logIn(traveller.userId);
    const stored = await fetch(`${gateway.apiUrl}/users/${traveller.userId}/preferences`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(stored.status).toBe(200);
    const prefs = (await stored.json()) as {
      events: Record<string, Record<string, boolean>>;
      effective: Record<string, Record<string, boolean>>;
      contact: { email: string };
    };
    expect(prefs.effective.TRAVEL_DISRUPTION).toEqual({ email: true, sms: false, whatsapp: true, websocket: true });
    // Only the cell that changed was sent: the rest still follow the operator's defaults.
    expect(prefs.events).toEqual({ TRAVEL_DISRUPTION: { sms: false } });
    expect(prefs.effective.BOOKING_CONFIRMED!.sms).toBe(true);
    expect(prefs.contact.email).toBe(traveller.email);
    expect(await page.textContent('td[data-channel="sms"]:has(#pref-TRAVEL_DISRUPTION-sms) .effective')).toBe(
      'not sent',
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'preferences-page.png'), fullPage: true });

    // A delay threshold, read back by the API.
    await page.fill('#min-delay', '20');
    await page.click('#save');
    await page.waitForSelector('#save-status[data-state="saved"]', { timeout: 10_000 });
    const withThreshold = await fetch(`${gateway.apiUrl}/users/${traveller.userId}/preferences`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(((await withThreshold.json()) as { minDelayMinutes: number }).minDelayMinutes).toBe(20);

    // A bad phone number comes back as the API's error, naming the field.
    await page.fill('#contact-phone', '12');
    await page.click('#save');
    await page.waitForSelector('#save-status[data-state="error"]', { timeout: 10_000 });
    expect(await page.textContent('#save-status')).toContain('contact.phone');

    // Following a train from the same page.
    await page.selectOption('#follow-kind', 'train');
    await page.fill('#follow-number', '12951');
    await page.fill('#follow-min-delay', '45');
    await page.click('#follow');
    await page.waitForSelector('#follow-status[data-state="saved"]', { timeout: 10_000 });
    expect(await page.textContent('#follow-status')).toContain('train 12951');
    expect(await page.textContent('#follow-status')).toContain('delays of 45 minutes or more');
    const { rows } = await gateway.pool.query(
      'SELECT vehicle_kind, vehicle_number FROM itineraries WHERE user_id = $1 ORDER BY id',
      [traveller.userId],
    );
    expect(rows).toEqual([
      { vehicle_kind: 'flight', vehicle_number: 'W2121' },
      { vehicle_kind: 'train', vehicle_number: '12951' },
    ]);
    await page.close();
  });

  it("lets an operator inspect and discard a dead letter, read an event's history and dry-run a re-drive on /admin.html", async () => {
    // An SMS to a number Twilio refuses (21211) is dead-lettered at once.
    const refused = {
      userId: `refused-${randomBytes(3).toString('hex')}`,
      email: uniqueEmail('refused'),
      phone: '+915555555555',
    };
    const { eventId } = await gateway.producer.publish(
      bookingConfirmed({
        eventId: undefined,
        userId: refused.userId,
        userEmail: refused.email,
        userPhone: refused.phone,
      }),
    );
    await waitFor('the dead letter', async () => {
      const { rowCount } = await gateway.pool.query(
        `SELECT 1 FROM dead_letters WHERE event_id = $1 AND channel = 'sms'`,
        [eventId],
      );
      return rowCount === 1;
    });

    const page = await openPage('/admin.html');
    await page.fill('#admin-token', 'not-the-token');
    await page.click('#use-token');
    await page.waitForSelector('#token-status[data-state="error"]', { timeout: 10_000 });
    await page.fill('#admin-token', gateway.config.ADMIN_TOKEN);
    await page.click('#use-token');
    await page.waitForSelector('#token-status[data-state="ok"]', { timeout: 10_000 });

    await page.selectOption('#dlq-channel', 'sms');
    await page.click('#dlq-load');
    const row = page.locator('#dlq-table tbody tr', { hasText: 'TWILIO_21211' }).first();
    await row.waitFor({ timeout: 10_000 });
    await row.getByRole('button', { name: 'Inspect' }).click();
    await page.waitForSelector('#dlq-detail:not([hidden])', { timeout: 10_000 });
    expect(await page.textContent('#dlq-detail')).toContain(eventId);
    await page.click('#dlq-dry-run');
    await page.waitForFunction(() =>
      /would be replayed/.test(document.getElementById('dlq-status-line')!.textContent!),
    );

    const id = await row.getAttribute('data-id');
    await row.getByRole('button', { name: 'Discard' }).click();
    await page.waitForFunction((entry) => !document.querySelector(`#dlq-table tbody tr[data-id="${entry}"]`), id, {
      timeout: 10_000,
    });
    const { rows } = await gateway.pool.query('SELECT status FROM dead_letters WHERE id = $1', [Number(id)]);
    expect(rows[0].status).toBe('discarded');

    await page.fill('#event-id', eventId);
    await page.click('#event-load');
    await page.waitForSelector('#event-status[data-state="ok"]', { timeout: 10_000 });
    expect(await page.textContent('#event-table tr[data-channel="sms"]')).toContain('TWILIO_21211');
    expect(await page.locator('#event-table tbody tr').count()).toBe(4);

    await page.click('#redrive-start');
    await page.waitForSelector('#redrive-status[data-state="ok"]', { timeout: 30_000 });
    expect(await page.textContent('#redrive-status')).toBe('dry run done');
    const result = JSON.parse((await page.textContent('#redrive-result'))!) as {
      outcomes: Record<string, { redriven: number; skippedDiscarded: number }>;
    };
    // The refused SMS, discarded above, is what a re-drive of the last hour leaves alone unless told to include it.
    expect(result.outcomes.sms).toMatchObject({ redriven: 0, skippedDiscarded: 1 });
    await page.check('#redrive-include-discarded');
    await page.click('#redrive-start');
    // Included by name, it is what the dry run would send.
    await page.waitForFunction(
      () => /"redriven": 1/.test(document.getElementById('redrive-result')!.textContent!),
      null,
      {
        timeout: 30_000,
      },
    );

    // A status webhook: registered with the partner's key, its secret shown once, listed, refused with the field named.
    await page.fill('#webhook-key', 'not-a-key');
    await page.fill('#webhook-url', 'https://partner.example.com/hooks');
    await page.click('#webhook-add');
    await page.waitForSelector('#webhook-status[data-state="error"]', { timeout: 10_000 });
    expect(await page.textContent('#webhook-status')).toContain('apiKey');
    await page.fill('#webhook-key', gateway.config.INGEST_API_KEYS[0]!);
    await page.click('#webhook-add');
    await page.waitForSelector('#webhook-secret-line:not([hidden])', { timeout: 10_000 });
    expect(await page.textContent('#webhook-secret')).toMatch(/^whsec_/);
    const hook = page.locator('#webhook-table tbody tr', { hasText: 'https://partner.example.com/hooks' });
    await hook.waitFor({ timeout: 10_000 });
    const hookId = Number(await hook.getAttribute('data-id'));
    const stored = await gateway.pool.query('SELECT url FROM status_webhooks WHERE id = $1', [hookId]);
    expect(stored.rows).toEqual([{ url: 'https://partner.example.com/hooks' }]);
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-page.png'), fullPage: true });
    await page.close();
  });

  it('shows the delay email, the SMS and the alert for that user on the previews page', async () => {
    const page = await openPage(`/previews.html?user=${encodeURIComponent(traveller.userId)}`);
    const email = page.locator('#emails article.email', { hasText: 'W2121' }).first();
    await email.waitFor({ timeout: 30_000 });
    expect(await email.locator('.to').textContent()).toContain(traveller.email);
    const frame = email.locator('iframe');
    expect(await frame.getAttribute('sandbox')).toBe('');
    expect(await frame.contentFrame().locator('body').textContent({ timeout: 5000 })).toContain('W2121');
    expect(await page.getAttribute('#maildev-link', 'href')).toBe(
      `${gateway.config.MAIL_PREVIEW_URL.replace(/\/+$/, '')}/`,
    );

    await page.locator('#sms .bubble', { hasText: 'W2121' }).first().waitFor({ timeout: 30_000 });
    await page.locator('#whatsapp .bubble', { hasText: 'W2121' }).first().waitFor({ timeout: 30_000 });
    await page
      .locator('#alerts [data-event-type="TRAVEL_DISRUPTION"]', { hasText: 'W2121' })
      .first()
      .waitFor({ timeout: 10_000 });
    expect(await page.locator('#emails .unavailable').isHidden()).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'previews-page.png'), fullPage: true });
    await page.close();
    expect(pageErrors).toEqual([]);
  });
});
