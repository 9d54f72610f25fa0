import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { signAgentToken } from '../../src/screen-pop/agent-token';
import { eventually, newCallId, sendEvent, startTestApp, TestApp } from '../support/test-app';
import { agentContext, agentTab, ARTIFACTS, expectEachOnce, launchChromium } from './browser';
import { startTwoInstances, stopInstance } from './instances';

const SECRET = 'agent-link-secret-for-browser-tests-0123';
const XSS_NAME = '<img src=x onerror="window.__xss=1">';

/**
 * The agent page in a real browser (Debian chromium, headless): the card through a call's life,
 * unknown callers, refused links, isolation between extensions, reconnection, two instances,
 * and every pop seen once per tab. Screenshots go to test-artifacts/.
 */
describe('Agent page in Chromium', () => {
  let browser: Browser;
  let context: BrowserContext; // one for all tests (a context costs seconds on a busy machine); a tab each
  let a: TestApp; // api + workers: receives the events and publishes the pops
  let b: TestApp; // api only, same Redis prefix: serves the pages
  let dir: string;

  beforeAll(async () => {
    browser = await launchChromium();
    context = await agentContext(browser);
    dir = mkdtempSync(join(tmpdir(), 'vncc-page-'));
    const csv = await readFile(resolve(__dirname, '../../config/contacts.csv'), 'utf8');
    writeFileSync(join(dir, 'contacts.csv'), `${csv.trimEnd()}\nc-666,"${XSS_NAME.replace(/"/g, '""')}",<b>Evil</b> Inc,+1 312 555 0199,,,\n`);
    ({ a, b } = await startTwoInstances(dir, SECRET));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    if (b) await stopInstance(b);
    await a?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const link = (...ext: string[]) => signAgentToken(SECRET, ext).token;
  const inbound = (callId: string, ext: string, from = '0015551234567') => ({
    CallID: callId,
    CallerIDNum: from,
    CallerIDNam: 'J ROE',
    CalledExtension: ext,
    CalledDID: '+3222222222',
    CalledNumber: '+3222222222',
    CallFlow: 'IN',
  });
  const live = (page: Page) => page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
  const card = (page: Page) => page.locator('#card');
  const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `screen-pop-${name}.png`), fullPage: true });

  it('shows the caller card on Dial-In, reachable by keyboard, and follows the call: ringing → talking (timer) → ended, then the logged activity', async () => {
    const { page, seen, close } = await agentTab(context);
    await page.goto(`${b.url}/agent?token=${link('0003*510')}`);
    await live(page);
    await expect(page.locator('#extensions').textContent()).resolves.toBe('0003*510');
    const id = newCallId();
    await sendEvent(a.url, 'dial-in', { ...inbound(id, '0003*510'), CallStatus: 'CALLING' });

    await card(page).locator('h2', { hasText: 'Jane Roe' }).waitFor({ timeout: 10_000 });
    await expect(card(page).getAttribute('data-state')).resolves.toBe('ringing');
    await expect(card(page).locator('.state').textContent()).resolves.toBe('Ringing');
    await expect(card(page).locator('.company').textContent()).resolves.toBe('Acme Corp');
    await expect(card(page).locator('.number').textContent()).resolves.toBe('+1 555 123 4567');
    await expect(card(page).locator('.line').textContent()).resolves.toBe('On line 0003*510 · dialled +32 2 222 22 22');
    const record = card(page).locator('.records a');
    await expect(record.getAttribute('href')).resolves.toMatch(new RegExp(`^${b.url}/file-crm/demo/contacts/c-001\\?sig=[\\w-]{43}$`));
    await expect(record.getAttribute('target')).resolves.toBe('_blank');
    await expect(record.getAttribute('rel')).resolves.toBe('noopener noreferrer');
    await shot(page, 'ringing');

    // Keyboard: from the top, Tab reaches the skip link, the record link and the options, each with a visible focus ring.
    const reached: string[] = [];
    for (let i = 0; i < 8; i += 1) {
      await page.keyboard.press('Tab');
      reached.push(
        await page.evaluate(() => {
          const { document, getComputedStyle } = globalThis as any;
          const el = document.activeElement;
          const style = getComputedStyle(el);
          return `${el.tagName.toLowerCase()}#${el.id}|${el.textContent?.trim().slice(0, 40)}|${style.outlineStyle !== 'none' && style.outlineWidth !== '0px' ? 'visible' : 'hidden'}`;
        }),
      );
    }
    expect(reached[0]).toMatch(/^a#\|Skip to the current call\|visible$/);
    expect(reached).toContainEqual(expect.stringMatching(/^a#\|Jane Roe · Acme Corp .*\|visible$/));
    expect(reached).toContainEqual(expect.stringMatching(/^input#auto-open\|\|visible$/));
    expect(reached).toContainEqual(expect.stringMatching(/^button#notify\|.*\|visible$/));
    await expect(page.locator('header').count()).resolves.toBe(1);
    await expect(page.locator('main').count()).resolves.toBe(1);

    await sendEvent(a.url, 'answer-in', inbound(id, '0003*510'));
    await card(page).locator('.state', { hasText: 'Talking' }).waitFor({ timeout: 10_000 });
    const timer = card(page).locator('.timer');
    const first = await timer.textContent();
    expect(first).toMatch(/^\d+:\d\d$/);
    await page.waitForFunction((before) => (globalThis as any).document.querySelector('#card .timer')?.textContent !== before, first, { timeout: 5000 });
    await shot(page, 'talking');

    await sendEvent(a.url, 'hangup', { ...inbound(id, '0003*510'), CallStatus: 'ANSWER' });
    await card(page).locator('.state', { hasText: 'Ended · Answered' }).waitFor({ timeout: 10_000 });
    await expect(timer.textContent()).resolves.toMatch(/^talked \d+:\d\d$/);
    // The file CRM logs the call (after hangupSettleMs) and the card links the activity.
    await card(page).locator('.activity', { hasText: 'Logged in demo' }).waitFor({ timeout: 10_000 });
    await shot(page, 'ended');

    // The next call takes the card; the finished one is listed below.
    await sendEvent(a.url, 'dial-in', { ...inbound(newCallId(), '0003*510', '0015559876543'), CallStatus: 'CALLING' });
    await card(page).locator('h2', { hasText: 'Maria Garcia' }).waitFor({ timeout: 10_000 });
    await expect(page.locator('#recent li').first().textContent()).resolves.toMatch(/Jane Roe · \+1 555 123 4567.*Answered · talked/);
    await shot(page, 'recent');
    const updates = await seen();
    expect(updates.filter((u) => u.data.record.callId === id).map((u) => u.data.event)).toEqual(['dial-in', 'answer-in', 'hangup', 'hangup', 'hangup']); // the Hangup, when it will be logged, the logged activity
    expectEachOnce(updates);
    await close();
  });

  it('shows an unknown caller as unknown, with the caller-ID name and no record link; CRM data is text, never markup; a Dial-Out pops the called party', async () => {
    const { page, seen, close } = await agentTab(context);
    await page.goto(`${b.url}/agent?token=${link('0003*511')}`);
    await live(page);
    await sendEvent(a.url, 'dial-in', { ...inbound(newCallId(), '0003*511', '0013125550000'), CallStatus: 'CALLING' });
    await card(page).locator('h2', { hasText: 'Unknown caller' }).waitFor({ timeout: 10_000 });
    await expect(card(page).locator('.company').textContent()).resolves.toBe('Caller ID name: J ROE');
    await expect(card(page).locator('.number').textContent()).resolves.toBe('+1 312 555 0000');
    await expect(card(page).locator('.lookup').textContent()).resolves.toBe('No record in demo');
    await expect(card(page).locator('.records a').count()).resolves.toBe(0);
    await shot(page, 'unknown');

    await sendEvent(a.url, 'dial-in', { ...inbound(newCallId(), '0003*511', '0013125550199'), CallStatus: 'CALLING' });
    await card(page).locator('h2', { hasText: XSS_NAME }).waitFor({ timeout: 10_000 });
    await expect(card(page).locator('.company').textContent()).resolves.toBe('<b>Evil</b> Inc');
    await expect(page.locator('#card img, #card b').count()).resolves.toBe(0);
    await expect(page.evaluate(() => (globalThis as any).__xss)).resolves.toBeUndefined();

    // A Dial-Out pops the called party.
    await sendEvent(a.url, 'dial-out', { CallID: newCallId(), CallerIDNum: '0003*511', CallerExtension: '0003*511', CalledNumber: '0015551234567', CallFlow: 'OUT', CallStatus: 'CALLING' });
    await card(page).locator('h2', { hasText: 'Jane Roe' }).waitFor({ timeout: 10_000 });
    await expect(card(page).locator('.state').textContent()).resolves.toBe('Calling');
    await expect(card(page).locator('.direction').textContent()).resolves.toBe('Outgoing call');
    expectEachOnce(await seen());
    await close();
  });

  it('refuses a forged or expired link with a page that says why', async () => {
    const { page, close } = await agentTab(context);
    const forged = signAgentToken('someone-elses-secret', ['0003*510']).token;
    const expired = signAgentToken(SECRET, ['0003*510'], { ttlHours: 1, now: Date.now() - 3 * 3600_000 }).token;
    for (const [token, status, text] of [
      [forged, 401, 'signature does not match'],
      [expired, 403, 'expired at'],
    ] as const) {
      const res = await page.goto(`${b.url}/agent?token=${token}`);
      expect(res?.status()).toBe(status);
      await expect(page.locator('h1').textContent()).resolves.toBe('This agent link cannot be used');
      await expect(page.locator('[role="alert"]').textContent()).resolves.toContain(text);
      await expect(page.locator('#card').count()).resolves.toBe(0);
    }
    await shot(page, 'refused');
    await close();
  });

  it("an agent on one extension never sees another extension's call", async () => {
    const tabA = await agentTab(context);
    const tabB = await agentTab(context);
    await tabA.page.goto(`${b.url}/agent?token=${link('0003*520')}`);
    await tabB.page.goto(`${a.url}/agent?token=${link('0003*521')}`);
    await Promise.all([live(tabA.page), live(tabB.page)]);
    const forB = newCallId();
    const forA = newCallId();
    await sendEvent(a.url, 'dial-in', { ...inbound(forB, '0003*521'), CallStatus: 'CALLING' });
    await sendEvent(a.url, 'dial-in', { ...inbound(forA, '0003*520', '0015559876543'), CallStatus: 'CALLING' });
    await card(tabA.page).locator('h2', { hasText: 'Maria Garcia' }).waitFor({ timeout: 10_000 });
    await card(tabB.page).locator('h2', { hasText: 'Jane Roe' }).waitFor({ timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    const seenByA = (await tabA.seen()).map((u) => u.data.record.callId);
    expect(seenByA).toContain(forA);
    expect(seenByA).not.toContain(forB);
    expect((await tabB.seen()).map((u) => u.data.record.callId)).not.toContain(forA);
    await expect(tabA.page.locator('#recent li').count()).resolves.toBe(0);
    await Promise.all([tabA.close(), tabB.close()]);
  });

  it('a page whose instance went away reconnects to it and gets the pop it missed, once', async () => {
    const port = await freePort();
    let c = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), AGENT_LINK_SECRET: SECRET, REDIS_PREFIX: a.prefix, ROLE: 'api', PORT: String(port) });
    const { page, seen, close } = await agentTab(context);
    try {
      await page.goto(`${c.url}/agent?token=${link('0003*530')}`);
      await live(page);
      const before = newCallId();
      await sendEvent(a.url, 'dial-in', { ...inbound(before, '0003*530'), CallStatus: 'CALLING' });
      await card(page).locator('h2', { hasText: 'Jane Roe' }).waitFor({ timeout: 10_000 });

      await stopInstance(c); // the stream ends; the browser keeps trying to reconnect
      await page.locator('#connection:not([data-state="live"])').waitFor({ timeout: 10_000 });
      const missed = newCallId();
      await sendEvent(a.url, 'dial-in', { ...inbound(missed, '0003*530', '0015559876543'), CallStatus: 'CALLING' });
      await eventually(async () => ((await a.redis.xlen(`${a.prefix}:updates-log:0003*530`)) >= 2 ? true : undefined), 10_000, 'the missed pop to be published');

      c = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), AGENT_LINK_SECRET: SECRET, REDIS_PREFIX: a.prefix, ROLE: 'api', PORT: String(port) });
      await card(page).locator('h2', { hasText: 'Maria Garcia' }).waitFor({ timeout: 20_000 });
      await live(page);
      await shot(page, 'reconnected');
      const updates = await seen();
      expect(updates.map((u) => u.data.record.callId)).toEqual([before, missed]);
      expectEachOnce(updates);
    } finally {
      await close();
      await stopInstance(c);
    }
  });

  it('auto-opens the best match in a new tab once the agent ticked the box', async () => {
    const { page, close } = await agentTab(context);
    await page.goto(`${b.url}/agent?token=${link('0003*540')}`);
    await live(page);
    await page.getByLabel('Open the best-matching CRM record in a new tab when a call comes in').check();
    const popup = context.waitForEvent('page', { timeout: 10_000 });
    await sendEvent(a.url, 'dial-in', { ...inbound(newCallId(), '0003*540'), CallStatus: 'CALLING' });
    const opened = await popup;
    expect(opened.url()).toMatch(new RegExp(`^${b.url}/file-crm/demo/contacts/c-001\\?sig=`));
    // The file CRM's own contact page opens from the signed link.
    await opened.locator('h1', { hasText: 'Jane Roe' }).waitFor({ timeout: 10_000 });
    await expect(opened.evaluate(() => (globalThis as any).opener)).resolves.toBeNull();
    // The choice is remembered per browser; later tabs of this context must not auto-open.
    await page.getByLabel('Open the best-matching CRM record in a new tab when a call comes in').uncheck();
    await Promise.all([opened.close(), close()]);
  });
});

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}
