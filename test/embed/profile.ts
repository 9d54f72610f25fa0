import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BrowserContext, chromium } from 'playwright-core';
import { ARTIFACTS, CHROMIUM } from '../screen-pop/browser';

/**
 * Chromium with a real profile in `dir` (a test's temp dir), as an agent's browser is: unlike a
 * throw-away (incognito-like) context it lets a page framed by another site keep its storage,
 * and closing it and launching it again on the same dir is a new browser session.
 */
export async function launchProfile(dir: string): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}. Install it (as root: apt-get update && apt-get install -y chromium), or set CHROMIUM_PATH.`);
  mkdirSync(ARTIFACTS, { recursive: true });
  // A fresh headless profile blocks third-party cookies (and with them storage in framed pages);
  // an agent's everyday browser does not, unless they chose to.
  const prefs = join(dir, 'Default', 'Preferences');
  if (!existsSync(prefs)) {
    mkdirSync(join(dir, 'Default'), { recursive: true });
    writeFileSync(prefs, JSON.stringify({ profile: { cookie_controls_mode: 0, block_third_party_cookies: false } }));
  }
  return chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 900, height: 700 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
