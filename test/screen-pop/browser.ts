import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = resolve(__dirname, '../../test-artifacts');

/**
 * Debian's chromium, headless. Missing chromium is a failure, not a skip: these tests are the
 * only proof the page works, and CI (.ci/run) installs it.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}. Install it (as root: apt-get update && apt-get install -y chromium), or set CHROMIUM_PATH; .ci/run installs it in CI.`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * A browser context whose tabs record every `update` its EventSource delivers (id and data), by wrapping the
 * browser's EventSource before the page's own script runs: the page itself has no test hooks.
 */
export async function agentContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // Runs in the browser (typed loosely: this project compiles without the DOM library).
  await context.addInitScript(() => {
    const w = globalThis as any;
    const seen: { id: string; data: unknown }[] = [];
    w.__seen = seen;
    const Native = w.EventSource;
    w.EventSource = class extends Native {
      constructor(url: string, init?: unknown) {
        super(url, init);
        this.addEventListener('update', (e: { lastEventId: string; data: string }) => seen.push({ id: e.lastEventId, data: JSON.parse(e.data) }));
      }
    };
  });
  return context;
}

export async function agentTab(context: BrowserContext): Promise<{ page: Page; seen: () => Promise<{ id: string; data: any }[]>; close: () => Promise<void> }> {
  const page = await context.newPage();
  return { page, seen: () => page.evaluate(() => (globalThis as any).__seen), close: () => page.close() };
}

/** Each update reached the tab once: no SSE id twice, no (call, event, lookup state, activity, wrap-up save, log time, who answered) twice. */
export function expectEachOnce(seen: { id: string; data: any }[]) {
  const ids = seen.map((s) => s.id);
  const what = seen.map((s) =>
    JSON.stringify([
      s.data.record.callId,
      s.data.record.extension,
      s.data.event,
      s.data.lookup?.status,
      s.data.activity?.id,
      s.data.wrapUp && `${s.data.wrapUp.savedAt}:${s.data.wrapUp.state}`,
      s.data.offers?.logsAt,
      s.data.group?.answeredBy?.extension,
    ]),
  );
  expect(new Set(ids).size).toBe(ids.length);
  expect(new Set(what).size).toBe(what.length);
}
