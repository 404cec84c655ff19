import { type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CreateDepositDocument, DepositDocument } from '../generated/graphql.js';
import { CHROMIUM, launchChromium } from '../utils/browser.js';
import { startTestApp, uniqueName, type TestApp } from '../utils/harness.js';

/**
 * The sandbox checkout page in a real browser: Debian's Chromium driven by
 * playwright-core (no browser downloads work here). The page subscribes over
 * graphql-ws with the deposit's client token and shows the live status.
 */
const SCREENSHOT = '/tmp/checkout-completed.png';

describe('the sandbox checkout page in Chromium', () => {
  let t: TestApp;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    // A missing Chromium fails every test with the reason (see `openCheckout`); it never skips them.
    browser = await launchChromium();
  }, 60_000);

  afterEach(async () => {
    await page?.close();
  });

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  async function openCheckout(amount: string) {
    if (!browser) {
      throw new Error(
        `Chromium is not installed at ${CHROMIUM}: this test needs Debian's package ` +
          '(apt-get update && apt-get install -y chromium; .ci/run installs it when missing)',
      );
    }
    const created = await t.gql(CreateDepositDocument, {
      input: { userId: uniqueName('shopper'), currency: 'USD', amount, provider: 'sandbox' },
    });
    expect(created.errors).toBeUndefined();
    const deposit = created.data!.createDeposit.deposit;
    expect(deposit.checkoutUrl).toBeTruthy();
    page = await browser.newPage({ viewport: { width: 800, height: 640 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(deposit.checkoutUrl!);
    // Live once the page's socket has subscribed; the page resumes from the deposit's first change anyway.
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'PENDING');
    return deposit;
  }

  async function statusShown(status: string): Promise<string> {
    await page.waitForFunction((want) => document.querySelector('#status')?.textContent === want, status, {
      timeout: 20_000,
    });
    return (await page.textContent('#status'))!;
  }

  it('shows COMPLETED after the shopper clicks Pay', async () => {
    const deposit = await openCheckout('25.00');
    await page.click('#pay-button');

    expect(await statusShown('COMPLETED')).toBe('COMPLETED');
    expect(await page.textContent('#message')).toBe('Payment received: 25 USD.');
    expect(await page.isDisabled('#pay-button')).toBe(true);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const stored = await t.gql(DepositDocument, { id: deposit.id });
    expect(stored.data!.deposit).toMatchObject({ status: 'COMPLETED', paymentState: 'CORRECT', receivedAmount: '25' });
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('shows REJECTED when the shopper pays less than asked', async () => {
    const deposit = await openCheckout('25.00');
    await page.fill('#amount', '10.00');
    await page.click('#pay-button');

    expect(await statusShown('REJECTED')).toBe('REJECTED');
    expect(await page.textContent('#message')).toBe('Payment rejected: less than asked was paid (received 10 USD).');
    await page.screenshot({ path: '/tmp/checkout-rejected.png', fullPage: true });
    const stored = await t.gql(DepositDocument, { id: deposit.id });
    expect(stored.data!.deposit).toMatchObject({ status: 'REJECTED', rejectionReason: 'UNDERPAID' });
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
