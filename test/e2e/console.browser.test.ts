import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CreateDepositDocument, type CreateDepositInput } from '../generated/graphql.js';
import { CHROMIUM, launchChromium } from '../utils/browser.js';
import {
  SECRETS,
  startTestApp,
  TEST_API_KEY,
  TEST_OPERATOR_KEY as OPERATOR_KEY,
  uniqueName,
  type TestApp,
} from '../utils/harness.js';
import { signStandardWebhook } from '../../src/lib/signatures/standard-webhooks.js';
import { signedHeaders } from '../utils/signing.js';

/**
 * The operator console (console/, a Vite + React + Mantine app) in Debian's Chromium, driven by
 * playwright-core as the checkout page's test does, used as a person uses it: the page is the one
 * a real test app's gateway serves at /console/ (src/gateway/console.ts), with its
 * Content-Security-Policy. Any CSP violation or page error fails the test that caused it.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILT = path.join(ROOT, 'dist', 'console');

/** CONSOLE_SCREENSHOTS=1 also writes the README's screenshots (docs/images/console-*.png). */
const README_SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS === '1';

const XSS_USER_ID = '<img src=x onerror="window.__pwned=1">';

/** The newest modification time of the console's sources (and its build configuration). */
function newestSource(dir = path.join(ROOT, 'console')): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * dist/console as `npm run build:console` makes it, rebuilt when a source is newer than the
 * build (CI builds it before the tests; an edited console is tested as edited). The new build is
 * written beside it and swapped in, so a gateway serving the old one never sees a half-written
 * folder.
 */
function ensureConsoleBuilt(): void {
  const index = path.join(BUILT, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestSource()) return;
  const next = path.join(ROOT, 'dist', `.console-build-${process.pid}`);
  const r = spawnSync(
    'npm',
    ['run', '--silent', 'build:console', '--', '--outDir', next, '--emptyOutDir', '--logLevel', 'warn'],
    {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production' },
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  if (r.status !== 0) {
    rmSync(next, { recursive: true, force: true });
    throw new Error(`npm run build:console failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  const old = `${BUILT}.old-${process.pid}`;
  if (existsSync(BUILT)) renameSync(BUILT, old);
  renameSync(next, BUILT);
  rmSync(old, { recursive: true, force: true });
}

/** A merchant's backend on this machine: answers 200 to every POST and keeps what it got. */
interface Receiver {
  url: string;
  got: { headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const got: Receiver['got'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    got,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
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
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // Built before the app starts: a gateway that finds no build answers /console with 503.
    ensureConsoleBuilt();
    // The harness adds TEST_OPERATOR_KEY (BOOTSTRAP_OPERATOR_KEY; TEST_API_KEY is an APP key). The
    // merchant's endpoint in the webhooks test is on this machine: private URLs allowed (the
    // default outside production, said here since the test depends on it).
    t = await startTestApp({ env: { OUTBOUND_ALLOW_PRIVATE_URLS: 'true' } });
    // A missing Chromium fails every test with the reason (see `open`); it never skips them.
    browser = await launchChromium();
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
    await t?.stop();
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
    const res = await page.goto(`${t.gatewayUrl}/console/`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    return page;
  }

  async function signIn(page: Page, key = OPERATOR_KEY): Promise<void> {
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

  /** A GraphQL request with any key, as the document's text (for the operator API). */
  async function gqlAs<T>(key: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const res = await fetch(`${t.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    return body.data!;
  }

  /** The payer pays on the sandbox's checkout; with `notify: false` the gateway is not told. */
  async function sandboxPays(depositId: string, payment: { amount: string; currency: string; notify: boolean }) {
    const res = await fetch(`${t.gatewayUrl}/sandbox/checkout/${depositId}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...payment, status: 'PAID' }),
    });
    expect(res.status).toBe(200);
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
    (await row(page, id).locator('td.cell-status .status-badge').textContent()) ?? '';
  const pageStatus = async (page: Page) => (await page.locator('.deposit-title .status-badge').textContent()) ?? '';
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

  it('is served by the gateway with no inline script or style, under a CSP without unsafe-inline', async () => {
    const res = await fetch(`${t.gatewayUrl}/console/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    // What the gateway serves is the build this test made sure of.
    expect(html).toBe(readFileSync(path.join(BUILT, 'index.html'), 'utf8'));
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="\/console\/assets\/[^"]+\.js"/);
      expect(body.trim()).toBe('');
    }
    expect(html).not.toMatch(/\sstyle\s*=/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/<style\b/i);
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
    await page.keyboard.type(OPERATOR_KEY);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Deposits' }).waitFor();
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([OPERATOR_KEY]);
  }, 60_000);

  it('refuses an APP key with a visible message: the console takes an operator key', async () => {
    // An app key made by the operator (TEST_API_KEY, the bootstrap key, is one too).
    const made = await gqlAs<{ createApiKey: { key: string; apiKey: { role: string } } }>(
      OPERATOR_KEY,
      'mutation ($label: String!) { createApiKey(role: APP, label: $label) { key apiKey { role } } }',
      { label: uniqueName('shop-backend') },
    );
    expect(made.createApiKey.apiKey.role).toBe('APP');
    for (const key of [made.createApiKey.key, TEST_API_KEY]) {
      const page = await open();
      await page.getByLabel('API key').fill(key);
      await page.getByRole('button', { name: 'Sign in' }).click();
      const refusal = page.getByRole('alert');
      await refusal.waitFor();
      expect(await refusal.textContent()).toContain(
        'This key may not use the operator console: sign in with an operator key.',
      );
      expect(await page.evaluate(() => Object.keys(sessionStorage))).toEqual([]);
      expect(await page.getByRole('heading', { name: 'Deposits' }).count()).toBe(0);
      await context!.close();
      context = undefined;
    }
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
    for (const text of await page.locator('.deposit-table td.cell-status .status-badge').allTextContents())
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
  }, 90_000);

  it('finds an underpaid deposit by "Needs attention", credits it with a reason, and shows it COMPLETED without a reload', async () => {
    const fine = await createDeposit();
    await providerSays(fine.id, { status: 'PAID', amount: '25.00', currency: 'USD' });
    const under = await createDeposit({ amount: '30.00' });
    // The payer sent less: the sandbox's signed webhook says 12 of 30.
    await providerSays(under.id, { status: 'PAID', amount: '12.00', currency: 'USD' });
    const page = await openSignedIn();
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

    await page.getByLabel('Needs attention').check();
    await until('only deposits that need attention, the underpaid one among them', async () => {
      const ids = await shownIds(page);
      return ids.includes(under.id) && !ids.includes(fine.id);
    });
    for (const id of await shownIds(page)) expect(await row(page, id!).locator('.attention-mark').count()).toBe(1);
    expect(await rowStatus(page, under.id)).toBe('REJECTED');

    await row(page, under.id).getByRole('link', { name: under.id }).click();
    await page.locator('.fields').waitFor();
    expect(await fieldsShown(page)).toMatchObject({
      Received: '12 USD',
      'Rejection reason': 'UNDERPAID',
      Resolution: '—',
    });
    expect(await page.locator('.deposit-title .attention-mark').count()).toBe(1);
    // What an operator may do with it: credit or mark refunded (not reverse), and sync (sandbox).
    const actions = page.locator('section[aria-labelledby="actions-heading"] button');
    expect(await actions.allTextContents()).toEqual(['Credit', 'Mark refunded', 'Sync']);

    await page.getByRole('button', { name: 'Credit', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    // A reason is required; what the operator writes is kept and shown as text.
    expect(await dialog.getByRole('button', { name: 'Confirm' }).isDisabled()).toBe(true);
    const reason = 'Payer sent the missing <b>18.00</b> by wire; ticket #4521';
    await dialog.getByLabel('Reason').fill(reason);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.waitFor({ state: 'hidden' });

    await until('the page shows COMPLETED', async () => (await pageStatus(page)) === 'COMPLETED');
    expect(await page.locator('.action-outcome').textContent()).toBe('Credited: the deposit is COMPLETED.');
    expect(await fieldsShown(page)).toMatchObject({ Resolution: 'CREDITED_MANUALLY' });
    expect(await page.locator('.deposit-title .attention-mark').count()).toBe(0);
    // The timeline has the operator's event: source, actor (the key's label) and reason.
    const items = page.locator('.timeline-item');
    await until('the resolution in the timeline', async () => (await items.count()) === 2);
    expect(await items.nth(1).locator('.provider-status').textContent()).toBe('MANUAL_CREDIT');
    expect(await factsShown(items.nth(1))).toMatchObject({
      Source: 'OPERATOR',
      Actor: 'bootstrap-operator',
      Reason: reason,
    });
    expect(await page.locator('b').count()).toBe(0);
    expect(await page.getByText('No actions are available for this deposit.').count()).toBe(0);
    expect(await actions.allTextContents()).toEqual(['Sync']);

    // The list (still filtered) shows the change too, all without a reload.
    await page.getByRole('link', { name: '← All deposits' }).click();
    await until('the row shows COMPLETED', async () => (await rowStatus(page, under.id)) === 'COMPLETED');
    expect(await row(page, under.id).locator('.attention-mark').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  }, 60_000);

  it('syncs a sandbox deposit that was paid without notifying the gateway, then reverses it', async () => {
    const lost = await createDeposit({ amount: '15.00' });
    await sandboxPays(lost.id, { amount: '15.00', currency: 'USD', notify: false });
    const page = await openSignedIn();
    await row(page, lost.id).getByRole('link', { name: lost.id }).click();
    await page.getByText('No events yet: nothing has been reported for this deposit.').waitFor();
    expect(await pageStatus(page)).toBe('PENDING');

    // "Sync" acts at once: the provider's answer is applied and shown.
    await page.getByRole('button', { name: 'Sync' }).click();
    await until('the page shows COMPLETED', async () => (await pageStatus(page)) === 'COMPLETED');
    expect(await page.locator('.action-outcome').textContent()).toBe(
      'Synced with the provider: the deposit is COMPLETED.',
    );
    const first = page.locator('.timeline-item').first();
    await first.waitFor();
    expect(await factsShown(first)).toMatchObject({ Source: 'SYNC', Amount: '15 USD' });
    expect(await fieldsShown(page)).toMatchObject({ Received: '15 USD' });

    // Completed, so it can be reversed (a chargeback): REVERSED, final.
    await page.getByRole('button', { name: 'Reverse' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason').fill('Chargeback: the card was reported stolen');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await until('the page shows REVERSED', async () => (await pageStatus(page)) === 'REVERSED');
    expect(await page.locator('.action-outcome').textContent()).toBe('Reversed: the deposit is REVERSED.');
    expect(await fieldsShown(page)).toMatchObject({ Resolution: 'REVERSED' });
    const last = page.locator('.timeline-item').last();
    await until(
      'the reversal in the timeline',
      async () => (await last.locator('.provider-status').textContent()) === 'MANUAL_REVERSAL',
    );
    expect(await factsShown(last)).toMatchObject({ Source: 'OPERATOR', Actor: 'bootstrap-operator' });
  }, 60_000);

  it('updates a row live when its deposit is paid, and brings in a deposit the list did not show', async () => {
    const shown = await createDeposit();
    const page = await openSignedIn();
    await row(page, shown.id).waitFor();
    expect(await rowStatus(page, shown.id)).toBe('PENDING');
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

    await providerSays(shown.id, { status: 'PAID', amount: '25.00', currency: 'USD' });
    await until('the row shows COMPLETED', async () => (await rowStatus(page, shown.id)) === 'COMPLETED');

    // Created after the list loaded: not shown until something happens to it (creating a deposit
    // publishes no status change); paid in the sandbox's checkout, it arrives at the top.
    const later = await createDeposit({ amount: '40.00' });
    await sandboxPays(later.id, { amount: '40.00', currency: 'USD', notify: true });
    await until('the new deposit on top, COMPLETED', async () => (await shownIds(page))[0] === later.id);
    await until('the new deposit COMPLETED', async () => (await rowStatus(page, later.id)) === 'COMPLETED');

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
    expect(await factsShown(items.nth(0))).toMatchObject({ Source: 'WEBHOOK', Amount: '10 USD' });
    for (const name of ['Credit', 'Mark refunded', 'Sync'])
      expect(await page.getByRole('button', { name, exact: true }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Reverse' }).count()).toBe(0);

    // Mark refunded, with the refund's reference: the status stays, the resolution says it.
    await page.getByRole('button', { name: 'Mark refunded' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason').fill('Refunded to the payer: amount too low');
    await dialog.getByLabel('Refund reference').fill('refund-tx-991');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await until('the resolution shown', async () => (await fieldsShown(page)).Resolution === 'REFUNDED');
    expect(await pageStatus(page)).toBe('REJECTED');
    expect(await page.locator('.action-outcome').textContent()).toBe('Marked refunded: the deposit is REJECTED.');
    await until('the refund in the timeline', async () => (await items.count()) === 2);
    expect(await factsShown(items.nth(1))).toMatchObject({
      Source: 'OPERATOR',
      Reason: 'Refunded to the payer: amount too low',
      Reference: 'refund-tx-991',
    });
    expect(await page.getByRole('button', { name: 'Credit', exact: true }).count()).toBe(0);

    // Back to the list (kept as it was), then a deposit with no events yet: paying it while its
    // page is open adds the event and changes the status, without a reload.
    await page.getByRole('link', { name: '← All deposits' }).click();
    await row(page, waiting.id).getByRole('link', { name: waiting.id }).click();
    await page.getByText('No events yet: nothing has been reported for this deposit.').waitFor();
    expect(await pageStatus(page)).toBe('PENDING');
    await providerSays(waiting.id, { status: 'PAID', amount: '5.00', currency: 'USD' });
    await page.locator('.timeline-item').first().waitFor();
    expect(await page.locator('.timeline-head').first().textContent()).toBe('PAID maps to COMPLETED');
    await until('the page shows COMPLETED', async () => (await pageStatus(page)) === 'COMPLETED');
  }, 60_000);

  it('adds a webhook endpoint (its secret shown once), shows its deliveries, redelivers one, rotates and disables', async () => {
    const receiver = await startReceiver();
    try {
      const page = await openSignedIn();
      await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Webhooks' }).click();
      await page.getByRole('heading', { name: 'Webhooks', exact: true }).waitFor();

      const url = `${receiver.url}/hooks/deposits`;
      const description = '<i>Shop</i> backend';
      await page.getByLabel('URL').fill(url);
      await page.getByLabel('Description').fill(description);
      await page.getByRole('button', { name: 'Add endpoint' }).click();
      const secretShown = page.locator('.secret-once .secret-value');
      await secretShown.waitFor();
      const secret = (await secretShown.textContent()) ?? '';
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
      const endpoint = page.locator('.endpoint-table tbody tr', { hasText: url });
      await endpoint.waitFor();
      expect(await endpoint.locator('.endpoint-state').textContent()).toBe('Enabled');
      await endpoint.getByText(description, { exact: true }).waitFor();
      expect(await page.locator('i').count()).toBe(0);
      // Shown once: hidden when done, and not there after a reload.
      await page.getByRole('button', { name: 'Done, hide it' }).click();
      expect(await page.locator('.secret-once').count()).toBe(0);

      // Its delivery log: nothing yet; a deposit paid now is sent to it, signed with that secret.
      await endpoint.getByRole('link', { name: 'Deliveries' }).click();
      await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
      await page.getByText('Nothing sent to this endpoint yet', { exact: false }).waitFor();
      const deposit = await createDeposit();
      await providerSays(deposit.id, { status: 'PAID', amount: '25.00', currency: 'USD' });
      await until('the merchant got the change', async () => receiver.got.length === 1);
      const sent = receiver.got[0];
      expect(JSON.parse(sent.body)).toMatchObject({
        type: 'deposit.status_changed',
        data: { status: 'COMPLETED', deposit: { id: deposit.id } },
      });
      const webhookId = String(sent.headers['webhook-id']);
      const expected = signStandardWebhook(secret, webhookId, Number(sent.headers['webhook-timestamp']), sent.body);
      expect(String(sent.headers['webhook-signature']).split(' ')).toContain(expected);

      const delivery = page.locator('.delivery-table tbody tr', { hasText: webhookId });
      await delivery.waitFor();
      await until(
        'the delivery SUCCEEDED',
        async () => ((await delivery.locator('.cell-delivery-status').textContent()) ?? '') === 'SUCCEEDED',
      );
      expect(await delivery.locator('.cell-answer').textContent()).toBe('HTTP 200');

      // Redeliver: sent again, with the same webhook-id.
      await delivery.getByRole('button', { name: 'Redeliver' }).click();
      await until('the merchant got it again', async () => receiver.got.length === 2);
      expect(receiver.got[1].headers['webhook-id']).toBe(webhookId);
      expect(JSON.parse(receiver.got[1].body)).toEqual(JSON.parse(sent.body));
      await until(
        'the delivery SUCCEEDED again',
        async () => ((await delivery.locator('.cell-delivery-status').textContent()) ?? '') === 'SUCCEEDED',
      );
      await until('two attempts', async () => (await delivery.locator('.cell-attempts').textContent()) === '2');

      // Rotate: a new secret, shown once.
      await endpoint.getByRole('button', { name: 'Rotate secret' }).click();
      await secretShown.waitFor();
      const rotated = (await secretShown.textContent()) ?? '';
      expect(rotated).toMatch(/^whsec_/);
      expect(rotated).not.toBe(secret);
      await page.getByRole('button', { name: 'Done, hide it' }).click();

      // Disable, then enable again.
      await endpoint.getByRole('button', { name: 'Disable' }).click();
      await until('disabled', async () => (await endpoint.locator('.endpoint-state').textContent()) === 'Disabled');
      await endpoint.getByRole('button', { name: 'Enable' }).click();
      await until('enabled', async () => (await endpoint.locator('.endpoint-state').textContent()) === 'Enabled');

      // The route keeps the endpoint: a reload shows its log again, and no secret.
      await page.reload();
      await page.locator('.delivery-table tbody tr', { hasText: webhookId }).waitFor();
      expect(await page.locator('.secret-once').count()).toBe(0);
    } finally {
      await receiver.close();
    }
  }, 90_000);

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
    // A few deposits of every kind, newest last (the list shows it first).
    const failed = await createDeposit({ userId: 'frank', amount: '35.00' });
    await providerSays(failed.id, { status: 'FAILED' });
    const credited = await createDeposit({ userId: 'erin', amount: '75.00' });
    await providerSays(credited.id, { status: 'PAID', amount: '60.00', currency: 'USD' });
    await gqlAs(
      OPERATOR_KEY,
      'mutation ($id: ID!) { resolveDeposit(id: $id, action: CREDIT, reason: "Rest paid by wire, ticket 4521") { id } }',
      { id: credited.id },
    );
    const mismatch = await createDeposit({ userId: 'dave', amount: '200.00' });
    await providerSays(mismatch.id, { status: 'PAID', amount: '200.00', currency: 'GBP' });
    await createDeposit({ userId: 'carol', amount: null, minAmount: '10', maxAmount: '500' });
    const under = await createDeposit({ userId: 'bob', amount: '50.00', currency: 'EUR' });
    await providerSays(under.id, { status: 'PAID', amount: '20.00', currency: 'EUR' });
    const seen = await createDeposit({ userId: 'alice', amount: '120.00' });
    await providerSays(seen.id, { status: 'PAID', amount: '120.00', currency: 'USD' });

    const page = await openSignedIn({ width: 1280, height: 820 });
    await until('the newest deposits on top', async () => (await shownIds(page))[0] === seen.id);
    await page.screenshot({ path: '/tmp/console-list.png', fullPage: true });
    if (README_SCREENSHOTS) await page.screenshot({ path: path.join(ROOT, 'docs/images/console-list.png') });
    await row(page, under.id).getByRole('link', { name: under.id }).click();
    await page.locator('.timeline-item').first().waitFor();
    await page.getByRole('button', { name: 'Credit', exact: true }).waitFor();
    await page.screenshot({ path: '/tmp/console-deposit.png', fullPage: true });
    if (README_SCREENSHOTS) await page.screenshot({ path: path.join(ROOT, 'docs/images/console-deposit.png') });
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.locator('.endpoint-table, .webhooks-empty').first().waitFor();
    await page.screenshot({ path: '/tmp/console-webhooks.png', fullPage: true });
    await context!.close();

    const phone = await openSignedIn({ width: 390, height: 844 });
    const overflow = () => phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: '/tmp/console-phone-list.png' });
    await row(phone, under.id).getByRole('link', { name: under.id }).click();
    await phone.locator('.timeline-item').first().waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: '/tmp/console-phone-deposit.png', fullPage: true });
    await phone.getByRole('link', { name: 'Webhooks' }).click();
    await phone.getByRole('heading', { name: 'Webhooks', exact: true }).waitFor();
    // The endpoint of the webhooks test, and its delivery log.
    await phone.locator('.endpoint-table').getByRole('link', { name: 'Deliveries' }).first().click();
    await phone.locator('.delivery-table').waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: '/tmp/console-phone-webhooks.png', fullPage: true });
  }, 90_000);
});
