import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateDepositDocument, SyncDepositDocument } from '../generated/graphql.js';
import { CHROMIUM, launchChromium } from '../utils/browser.js';
import { startTestApp, uniqueName, type TestApp } from '../utils/harness.js';

/**
 * Recovering a lost notification in a real browser (Debian's Chromium via playwright-core): the
 * shopper pays on the sandbox checkout page with "Pay without notifying" (a provider whose
 * webhook was lost); the deposit waits; a sync (by hand, or the sidecar's automatic one) reads
 * the sandbox's books, and the page shows COMPLETED live.
 */

describe('recovering a payment made without notifying, on the checkout page in Chromium', () => {
  let browser: Browser | undefined;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // A missing Chromium fails every test with the reason (see `openCheckout`); it never skips them.
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  async function openCheckout(t: TestApp): Promise<{ id: string; page: Page }> {
    if (!browser) throw new Error(`Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium)`);
    const created = await t.gql(CreateDepositDocument, {
      input: { userId: uniqueName('shopper'), currency: 'USD', amount: '12.34', provider: 'sandbox' },
    });
    expect(created.errors).toBeUndefined();
    const deposit = created.data!.createDeposit.deposit;
    const page = await browser.newPage({ viewport: { width: 800, height: 640 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(deposit.checkoutUrl!);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'PENDING');
    return { id: deposit.id, page };
  }

  const statusShown = (page: Page, status: string) =>
    page.waitForFunction((want) => document.querySelector('#status')?.textContent === want, status, {
      timeout: 20_000,
    });

  it('stays PENDING after "Pay without notifying", then shows COMPLETED live once syncDeposit runs', async () => {
    const t = await startTestApp({ env: { SYNC_AFTER_SECONDS: '86400' } });
    try {
      const { id, page } = await openCheckout(t);
      await page.click('#pay-silent-button');
      await page.waitForFunction(() => /not told/.test(document.querySelector('#message')?.textContent ?? ''));
      // No webhook: nothing moves on its own.
      await new Promise((r) => setTimeout(r, 500));
      expect(await page.textContent('#status')).toBe('PENDING');

      const synced = await t.gql(SyncDepositDocument, { id });
      expect(synced.data!.syncDeposit.status).toBe('COMPLETED');
      await statusShown(page, 'COMPLETED');
      expect(await page.textContent('#message')).toContain('Payment received: 12.34 USD.');
      expect(pageErrors).toEqual([]);
      await page.close();
    } finally {
      await t.stop();
    }
  }, 60_000);

  it('shows COMPLETED live once the automatic sync finds the payment (SYNC_AFTER_SECONDS=1)', async () => {
    const t = await startTestApp({ env: { SYNC_AFTER_SECONDS: '1' } });
    try {
      const { id, page } = await openCheckout(t);
      await page.click('#pay-silent-button');
      await statusShown(page, 'COMPLETED');
      const [ev] = await t.sql('select source from deposit_event where deposit_id = $1', [id]);
      expect(ev.source).toBe('SYNC');
      expect(pageErrors).toEqual([]);
      await page.close();
    } finally {
      await t.stop();
    }
  }, 60_000);
});
