import { type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEV_API_KEY } from '../../src/config.js';
import { CreateDepositDocument } from '../generated/graphql.js';
import { CHROMIUM, launchChromium } from '../utils/browser.js';
import { startTestApp, uniqueName, type TestApp } from '../utils/harness.js';

/**
 * The GraphQL IDE (GraphiQL, served offline from its npm package) in Debian's Chromium,
 * driven by playwright-core as the checkout page's test does. Development shape: the
 * well-known development key is pre-filled in the headers editor.
 */
const SCREENSHOT = '/tmp/graphiql.png';

describe('the GraphQL IDE in Chromium', () => {
  let t: TestApp;
  let browser: Browser | undefined;
  let page: Page | undefined;

  beforeAll(async () => {
    t = await startTestApp({ env: { NODE_ENV: 'development', BOOTSTRAP_API_KEY: DEV_API_KEY } });
    // A missing Chromium fails the test with the reason (see `open`); it never skips it.
    browser = await launchChromium();
  }, 60_000);

  afterEach(async () => {
    await page?.close();
  });

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('loads from the gateway alone, runs the deposits query with the pre-filled key and shows the answer, with no CSP violation or console error', async () => {
    if (!browser) {
      throw new Error(
        `Chromium is not installed at ${CHROMIUM}: this test needs Debian's package ` +
          '(apt-get update && apt-get install -y chromium; .ci/run installs it when missing)',
      );
    }
    const userId = uniqueName('ide-user');
    const created = await t.gql(
      CreateDepositDocument,
      { input: { userId, currency: 'USD', amount: '12.5' } },
      { apiKey: DEV_API_KEY },
    );
    expect(created.errors).toBeUndefined();
    const depositId = created.data!.createDeposit.deposit.id;

    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems: string[] = [];
    const requested: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('request', (req) => requested.push(req.url()));
    page.on('response', (res) => {
      if (res.status() >= 400) problems.push(`${res.status()}: ${res.url()}`);
    });
    // Recorded by the page itself: every Content-Security-Policy violation, whatever the console says.
    await page.addInitScript(() => {
      const w = window as unknown as { violations: string[] };
      w.violations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        w.violations.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });

    const response = await page.goto(`${t.gatewayUrl}/graphql`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    await page.waitForSelector('.graphiql-container');
    // The schema arrived (from /graphiql/schema.json): the documentation explorer lists the root types.
    await page.click('button[aria-label="Show Documentation Explorer"]');
    const docs = page.locator('section[aria-label="Documentation Explorer"]');
    await docs.getByText('Subscription', { exact: true }).waitFor();
    expect(await docs.textContent()).toMatch(/query:\s*Query.*mutation:\s*Mutation.*subscription:\s*Subscription/);

    await page.click('.graphiql-execute-button');
    await page.waitForFunction((id) => document.querySelector('.result-window')?.textContent?.includes(id), depositId, {
      timeout: 20_000,
    });
    const shown = (await page.locator('.result-window').textContent()) ?? '';
    expect(shown).toContain('"deposits"');
    expect(shown).toContain(userId);
    expect(shown).not.toContain('UNAUTHENTICATED');
    await page.screenshot({ path: SCREENSHOT });

    expect(await page.evaluate(() => (window as unknown as { violations: string[] }).violations)).toEqual([]);
    expect(problems).toEqual([]);
    const origin = new URL(t.gatewayUrl).origin;
    expect(requested.filter((url) => !url.startsWith(`${origin}/`))).toEqual([]);
    expect(requested).toContain(`${origin}/graphiql/schema.json`);
  }, 60_000);
});
