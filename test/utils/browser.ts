import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (no browser downloads work on these machines). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Chromium as the browser tests drive it, or undefined when it is not installed: a
 * test then fails with that reason (it never skips). Without the background-networking flags
 * Chromium keeps trying to reach hosts this offline machine refuses.
 */
export async function launchChromium(): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) return undefined;
  return chromium.launch({
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
}
