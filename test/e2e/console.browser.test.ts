import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CreateDepositDocument, type CreateDepositInput } from '../generated/graphql.js';
import { SECRETS, startTestApp, TEST_API_KEY, uniqueName, type TestApp } from '../utils/harness.js';
import { signedHeaders } from '../utils/signing.js';

/**
 * The operator console (console/, a Vite + React + Mantine app) in Debian's Chromium, driven by
 * playwright-core as the checkout page's test does, used as a person uses it.
 *
 * Until the gateway serves it, this test builds it (Vite, into a temporary directory) and serves
 * the files itself, on the same origin as a real test app's /graphql (HTTP and graphql-ws are
 * forwarded to the app's gateway port), with the Content-Security-Policy recommended for the
 * gateway. Any CSP violation fails the test that caused it.
 */
const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What the gateway should send with the console's index.html (see console/README.md). */
const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const XSS_USER_ID = '<img src=x onerror="window.__pwned=1">';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** Builds the console with Vite (as `npm run build:console` does) into `outDir`. */
function buildConsole(outDir: string): void {
  const vite = path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  const r = spawnSync(
    process.execPath,
    [vite, 'build', '--config', 'console/vite.config.ts', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'],
    { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production' }, encoding: 'utf8', timeout: 120_000 },
  );
  if (r.status !== 0) throw new Error(`vite build failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
}

interface ConsoleServer {
  url: string;
  close(): Promise<void>;
}

/**
 * One origin for the page and its API, as the gateway will be: `/console/*` from `dir`,
 * `/graphql` (HTTP and WebSocket upgrades) forwarded to the gateway on `gatewayPort`.
 */
async function serveConsole(dir: string, gatewayPort: number): Promise<ConsoleServer> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/graphql') {
      const upstream = http.request(
        { host: '127.0.0.1', port: gatewayPort, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
      return;
    }
    if (url.pathname === '/console') {
      res.writeHead(308, { location: '/console/' }).end();
      return;
    }
    if (!url.pathname.startsWith('/console/')) {
      res.writeHead(404).end();
      return;
    }
    const rel =
      url.pathname === '/console/' ? 'index.html' : decodeURIComponent(url.pathname.slice('/console/'.length));
    const file = path.resolve(dir, rel);
    const type = TYPES[path.extname(file)];
    if (!file.startsWith(dir + path.sep) || !type) {
      res.writeHead(404).end();
      return;
    }
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    const headers: Record<string, string> = {
      'content-type': type,
      'x-content-type-options': 'nosniff',
      'cache-control': rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    };
    if (rel === 'index.html') {
      Object.assign(headers, {
        'content-security-policy': CONSOLE_CSP,
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
      });
    }
    res.writeHead(200, headers).end(body);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/graphql') {
      socket.destroy();
      return;
    }
    const upstream = net.connect(gatewayPort, '127.0.0.1', () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Polls until `fn` is true (the page updates asynchronously). */
async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the operator console in Chromium', () => {
  let t: TestApp;
  let site: ConsoleServer;
  let buildDir: string;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    buildDir = mkdtempSync(path.join(os.tmpdir(), 'console-build-'));
    buildConsole(buildDir);
    t = await startTestApp();
    site = await serveConsole(buildDir, Number(new URL(t.gatewayUrl).port));
    // A missing Chromium fails every test with the reason (see `open`); it never skips them.
    if (!existsSync(CHROMIUM)) return;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 180_000);

  afterEach(async () => {
    await context?.close();
    context = undefined;
    // Every test runs under the recommended CSP: nothing may be refused, nothing may throw.
    expect(cspViolations.splice(0)).toEqual([]);
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await t?.stop();
    if (buildDir) rmSync(buildDir, { recursive: true, force: true });
  });

  async function open(viewport = { width: 1280, height: 820 }): Promise<Page> {
    if (!browser) {
      throw new Error(
        `Chromium is not installed at ${CHROMIUM}: this test needs Debian's package ` +
          '(apt-get update && apt-get install -y chromium; .ci/run installs it when missing)',
      );
    }
    context = await browser.newContext({ viewport, reducedMotion: 'reduce' });
    await context.exposeBinding('__cspViolation', (_source, text: string) => cspViolations.push(text));
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        (window as unknown as { __cspViolation(text: string): void }).__cspViolation(
          `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`,
        );
      });
    });
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${site.url}/console/`);
    return page;
  }

  async function signIn(page: Page, key = TEST_API_KEY): Promise<void> {
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Deposits' }).waitFor();
    // Out of the way: the list renders where the button was, and a hovered row would be highlighted.
    await page.mouse.move(0, 0);
  }

  /** Signed in, the list loaded and the live socket subscribed. */
  async function openSignedIn(viewport?: { width: number; height: number }): Promise<Page> {
    const page = await open(viewport);
    await signIn(page);
    await page.locator('.live-indicator[data-state="live"]').waitFor();
    await page.locator('.deposit-table').waitFor();
    return page;
  }

  async function createDeposit(input: Partial<CreateDepositInput> = {}) {
    const r = await t.gql(CreateDepositDocument, {
      input: { userId: uniqueName('user'), currency: 'USD', amount: '25.00', provider: 'sandbox', ...input },
    });
    expect(r.errors).toBeUndefined();
    return r.data!.createDeposit.deposit;
  }

  /** What the sandbox provider sends when the payer pays (or fails): a signed Standard Webhook. */
  async function providerSays(
    depositId: string,
    payment: { status: 'PAID' | 'FAILED'; amount?: string; currency?: string },
  ) {
    const body = JSON.stringify({ eventId: `evt_${randomUUID()}`, depositId, ...payment });
    const res = await t.postWebhook('sandbox', body, signedHeaders(SECRETS.sandbox, body));
    expect(res.status).toBe(200);
  }

  const row = (page: Page, id: string): Locator => page.locator(`tr[data-deposit-id="${id}"]`);
  const rowStatus = async (page: Page, id: string) =>
    (await row(page, id).locator('td.cell-status').textContent()) ?? '';
  /** A description list's terms and their values, as shown. */
  const pairs = (list: Locator) =>
    list
      .locator('dt')
      .evaluateAll((dts) => Object.fromEntries(dts.map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])));
  const fieldsShown = (page: Page) => pairs(page.locator('.fields'));
  const factsShown = (item: Locator) => pairs(item.locator('.timeline-facts'));
  const shownIds = (page: Page) =>
    page
      .locator('.deposit-table tbody tr[data-deposit-id]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-deposit-id')));

  it('is built with no inline script or style attribute, and served under a CSP without unsafe-inline', () => {
    const html = readFileSync(path.join(buildDir, 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="\/console\/assets\/[^"]+\.js"/);
      expect(body.trim()).toBe('');
    }
    expect(html).not.toMatch(/\sstyle\s*=/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/<style\b/i);
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
  });

  it('refuses a wrong key with a visible message, then signs in with the keyboard', async () => {
    const page = await open();
    await page.getByLabel('API key').fill('not_a_key_of_anyone');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const refusal = page.getByRole('alert');
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('The gateway does not accept this API key.');
    expect(await page.evaluate(() => Object.keys(sessionStorage))).toEqual([]);
    await page.screenshot({ path: '/tmp/console-signin-refused.png' });

    // Keyboard only: the field is focused; type the key, Enter submits.
    await page.getByLabel('API key').fill('');
    await page.getByLabel('API key').focus();
    await page.keyboard.type(TEST_API_KEY);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Deposits' }).waitFor();
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([TEST_API_KEY]);
  }, 60_000);

  it('lists deposits newest first, and shows a user id that is markup as text without running it', async () => {
    const older = await createDeposit();
    const xss = await createDeposit({ userId: XSS_USER_ID, amount: '7.50', currency: 'EUR' });
    const page = await openSignedIn();

    const ids = await shownIds(page);
    expect(ids.indexOf(xss.id)).toBeLessThan(ids.indexOf(older.id));
    expect(ids.indexOf(older.id)).toBeGreaterThanOrEqual(0);

    const cells = row(page, xss.id).locator('td');
    expect(await cells.allTextContents()).toEqual([
      xss.id,
      XSS_USER_ID,
      xss.amount,
      'EUR',
      'PENDING',
      expect.any(String),
    ]);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

    // Its page shows it as text too.
    await row(page, xss.id).getByRole('link', { name: xss.id }).click();
    await page.getByRole('heading', { name: 'Deposit', exact: true }).waitFor();
    await page.getByText(XSS_USER_ID, { exact: true }).waitFor();
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  }, 60_000);

  it('filters by status, finds a deposit by id and a user by user id, and pages with "Load more"', async () => {
    const paid = await createDeposit();
    await providerSays(paid.id, { status: 'PAID', amount: '25.00', currency: 'USD' });
    const pending = await createDeposit();
    const many = uniqueName('many');
    const theirs: string[] = [];
    for (let i = 0; i < 27; i++) theirs.push((await createDeposit({ userId: many, amount: String(i + 1) })).id);
    const page = await openSignedIn();

    const status = page.getByLabel('Status');
    await status.selectOption('COMPLETED');
    await until('only COMPLETED deposits, the paid one among them', async () => {
      const ids = await shownIds(page);
      return ids.includes(paid.id) && !ids.includes(pending.id);
    });
    for (const text of await page.locator('.deposit-table td.cell-status').allTextContents())
      expect(text).toBe('COMPLETED');
    await status.selectOption('');

    const search = page.getByLabel('Search');
    await search.fill(pending.id);
    await until('the one deposit with that id', async () => {
      const ids = await shownIds(page);
      return ids.length === 1 && ids[0] === pending.id;
    });

    await search.fill(many);
    await search.press('Enter');
    await until('the first page of that user', async () => (await shownIds(page)).length === 25);
    expect(await shownIds(page)).toEqual(theirs.slice(-25).reverse());
    await page.getByRole('button', { name: 'Load more' }).click();
    await until('both pages', async () => (await shownIds(page)).length === 27);
    expect(await shownIds(page)).toEqual(theirs.slice().reverse());
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);

    // The status filter applies to a user's deposits too.
    await status.selectOption('COMPLETED');
    await page.getByText('No deposits match these filters.').waitFor();

    await page.getByRole('button', { name: 'Clear' }).click();
    await until('every status again', async () => (await shownIds(page)).includes(paid.id));

    // Until the gateway reports needsAttention, its filter is shown, disabled, with a note.
    const attention = page.getByLabel('Needs attention');
    expect(await attention.isDisabled()).toBe(true);
  }, 90_000);

  it('updates a row live when its deposit is paid, and brings in a deposit the list did not show', async () => {
    const shown = await createDeposit();
    const page = await openSignedIn();
    await row(page, shown.id).waitFor();
    expect(await rowStatus(page, shown.id)).toBe('PENDING');
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

    await providerSays(shown.id, { status: 'PAID', amount: '25.00', currency: 'USD' });
    await until('the row shows COMPLETED', async () => (await rowStatus(page, shown.id)) === 'COMPLETED');

    // Created after the list loaded: not shown until something happens to it (creating a deposit
    // publishes no status change today); its first change brings it in, at the top.
    const later = await createDeposit({ amount: '40.00' });
    await providerSays(later.id, { status: 'PAID', amount: '10.00', currency: 'USD' });
    await until('the new deposit on top, REJECTED', async () => (await shownIds(page))[0] === later.id);
    expect(await rowStatus(page, later.id)).toBe('REJECTED');

    // No reload happened.
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  }, 60_000);

  it("opens a deposit's page with its fields and full timeline, kept current live", async () => {
    const deposit = await createDeposit({ amount: '25.00' });
    await providerSays(deposit.id, { status: 'PAID', amount: '10.00', currency: 'USD' });
    const waiting = await createDeposit({ amount: '5.00' });
    const page = await openSignedIn();
    await until('the deposit REJECTED', async () => (await rowStatus(page, deposit.id)) === 'REJECTED');

    // Keyboard: focus its id link, Enter opens its page.
    await row(page, deposit.id).getByRole('link', { name: deposit.id }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Deposit', exact: true }).waitFor();
    expect(await page.locator('.deposit-id').textContent()).toBe(deposit.id);
    await page.locator('.fields').waitFor();
    expect(await fieldsShown(page)).toMatchObject({
      User: deposit.userId,
      Provider: 'sandbox',
      Amount: `${deposit.amount} USD`,
      Received: '10 USD',
      'Payment state': 'UNDERPAID',
      'Rejection reason': 'UNDERPAID',
    });
    const items = page.locator('.timeline-item');
    expect(await items.count()).toBe(1);
    expect(await items.nth(0).locator('.timeline-head').textContent()).toBe('PAID maps to COMPLETED');
    expect(await factsShown(items.nth(0))).toMatchObject({ Amount: '10 USD' });
    expect(await page.getByText('No actions are available for this deposit.').count()).toBe(1);

    // Back to the list (kept as it was), then a deposit with no events yet: paying it while its
    // page is open adds the event and changes the status, without a reload.
    await page.getByRole('link', { name: '← All deposits' }).click();
    await row(page, waiting.id).getByRole('link', { name: waiting.id }).click();
    await page.getByText('No events yet: nothing has been reported for this deposit.').waitFor();
    expect(await page.locator('.deposit-title').textContent()).toContain('PENDING');
    await providerSays(waiting.id, { status: 'PAID', amount: '5.00', currency: 'USD' });
    await page.locator('.timeline-item').first().waitFor();
    expect(await page.locator('.timeline-head').first().textContent()).toBe('PAID maps to COMPLETED');
    await until('the page shows COMPLETED', async () =>
      ((await page.locator('.deposit-title').textContent()) ?? '').includes('COMPLETED'),
    );
  }, 60_000);

  it('signs out: the key is forgotten, and a reload shows the sign-in form', async () => {
    const page = await openSignedIn();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate(() => Object.keys(sessionStorage))).toEqual([]);
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.getByLabel('API key').inputValue()).toBe('');
    expect(await page.getByRole('heading', { name: 'Deposits' }).count()).toBe(0);
  }, 60_000);

  it('takes screenshots of the list and a deposit page, on a laptop and on a phone', async () => {
    const seen = await createDeposit({ userId: 'alice', amount: '120.00' });
    await providerSays(seen.id, { status: 'PAID', amount: '120.00', currency: 'USD' });
    const under = await createDeposit({ userId: 'bob', amount: '50.00', currency: 'EUR' });
    await providerSays(under.id, { status: 'PAID', amount: '20.00', currency: 'EUR' });
    await createDeposit({ userId: 'carol', amount: null, minAmount: '10', maxAmount: '500' });
    const page = await openSignedIn({ width: 1280, height: 820 });
    await page.screenshot({ path: '/tmp/console-list.png', fullPage: true });
    await row(page, under.id).getByRole('link', { name: under.id }).click();
    await page.locator('.timeline-item').first().waitFor();
    await page.screenshot({ path: '/tmp/console-deposit.png', fullPage: true });
    await context!.close();

    const phone = await openSignedIn({ width: 390, height: 844 });
    const overflow = () => phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: '/tmp/console-phone-list.png' });
    await row(phone, under.id).getByRole('link', { name: under.id }).click();
    await phone.locator('.timeline-item').first().waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: '/tmp/console-phone-deposit.png', fullPage: true });
  }, 90_000);
});
