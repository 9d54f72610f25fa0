import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, BrowserContext, FrameLocator, Page } from 'playwright-core';
import { CrmHosts, startCrmHosts } from '../fakes/fake-crm-hosts';
import { FakeSalesforce, startFakeSalesforce } from '../fakes/fake-salesforce';
import { ARTIFACTS, launchChromium } from '../screen-pop/browser';
import { launchProfile } from './profile';
import type { CallUpdate } from '../../src/calls/call-update.publisher';
import type { RedisClient } from '../../src/redis/redis-connection';
import { eventually, newCallId, sendEvent, startTestApp, subscribeUpdates, TEST_ADMIN_TOKEN, TestApp } from '../support/test-app';

type CtiCall = { method: string; args: any };

/**
 * The Salesforce softphone panel in Chromium, framed by a page standing in for Lightning that
 * serves a stand-in of Open CTI's script recording every call the panel makes. The connector runs
 * for real against a fake Salesforce; the agent pairs the panel once with a code from ops.
 */
describe('Salesforce Open CTI panel in Chromium', () => {
  let browser: Browser;
  let sf: FakeSalesforce;
  let t: TestApp;
  let hosts: CrmHosts;
  let other: CrmHosts;
  let dir: string;
  let jane: string;
  let twinContact: string;
  let twinLead: string;
  let page: Page;
  let context: BrowserContext;
  let bindingId: string;
  let sub: RedisClient;
  const updates: CallUpdate[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    sf = await startFakeSalesforce({ clientId: 'client-1', clientSecret: 'secret-1', refreshTokens: ['refresh-embed'] });
    jane = sf.add('Contact', { Name: 'Jane Roe', Phone: '(555) 123-4567' });
    twinContact = sf.add('Contact', { Name: 'Sam Twin', Phone: '555-222-0000' });
    twinLead = sf.add('Lead', { Name: 'Sam Twin (lead)', Company: 'Twins Ltd', Phone: '5552220000', IsConverted: false });
    dir = mkdtempSync(join(tmpdir(), 'vncc-embed-sf-'));
    writeFileSync(
      join(dir, 'connector.yaml'),
      `connections:
  sales:
    type: salesforce
    loginUrl: ${sf.url}
    auth: { flow: refresh-token, clientId: client-1, clientSecretEnv: SF_EMBED_SECRET, refreshTokenEnv: SF_EMBED_REFRESH }
mappings:
  organisations:
    "0003*": { connection: sales, country: US }
  extensions:
    "0003*212": { actions: { unknownCaller: create-contact } }
    "0003*214": { actions: { popOnDialOut: false } }
`,
    );
    hosts = await startCrmHosts(() => t.url);
    other = await startCrmHosts(() => t.url);
    t = await startTestApp({
      CONFIG_FILE: join(dir, 'connector.yaml'),
      SF_EMBED_SECRET: 'secret-1',
      SF_EMBED_REFRESH: 'refresh-embed',
      EMBED_SALESFORCE_ORIGINS: hosts.origin,
      EMBED_SESSION_CHECK_SECONDS: '1',
    });
    sub = await subscribeUpdates(t.prefix, updates);
    context = await launchProfile(join(dir, 'profile'));
    page = context.pages()[0] ?? (await context.newPage());
  }, 60_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    sub?.disconnect();
    await t?.close();
    await sf?.close();
    await hosts?.close();
    await other?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${t.url}/admin/embed/bindings${path}`, { ...init, headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
  const inbound = (callId: string, ext: string, from: string, name = 'J ROE') => ({
    CallID: callId,
    CallerIDNum: from,
    CallerIDNam: name,
    CalledExtension: ext,
    CalledDID: '+3222222222',
    CallFlow: 'IN',
  });
  const panel = (p: Page): FrameLocator => p.frameLocator('#softphone');
  const cti = (p: Page): Promise<CtiCall[]> => p.evaluate(() => (globalThis as any).__cti);
  const pops = async (p: Page) => (await cti(p)).filter((c) => c.method === 'screenPop');
  const shot = async (p: Page, name: string) => {
    const path = join(ARTIFACTS, `embed-salesforce-${name}.png`);
    await p.locator('#softphone').screenshot({ path });
    return path;
  };
  const popFor = (p: Page, pred: (c: CtiCall) => boolean, what: string) => eventually(async () => (await pops(p)).find(pred), 15_000, what);

  it('pairs once with a code from ops, then pops the one matching Contact in the console (SOBJECT by id) after making itself visible', async () => {
    const created = await admin('', { method: 'POST', body: JSON.stringify({ extensions: ['0003*210', '0003*212', '0003*214'], label: 'Ann Lee, Salesforce' }) });
    expect(created.status).toBe(201);
    const { code, binding } = (await created.json()) as { code: string; binding: { id: string } };
    bindingId = binding.id;
    expect(code).toMatch(/^VNCC-[a-z0-9]{10}-/);

    await page.goto(`${hosts.url}/lightning`);
    await panel(page).locator('#vncc-bind').waitFor({ state: 'visible', timeout: 15_000 });
    await shot(page, 'pairing');
    await panel(page).locator('#vncc-code').fill(code);
    await panel(page).locator('#vncc-bind-form button').click();
    await panel(page).locator('#connection[data-state="live"]').waitFor({ timeout: 15_000 });
    await expect(panel(page).locator('#extensions').textContent()).resolves.toBe('0003*210, 0003*212, 0003*214');
    // The click-to-dial seam is wired (a listener) but dialing stays off.
    const calls = await cti(page);
    expect(calls.map((c) => c.method)).toContain('onClickToDial');
    expect(calls.map((c) => c.method)).not.toContain('enableClickToDial');

    const id = newCallId();
    await sendEvent(t.url, 'dial-in', { ...inbound(id, '0003*210', '0015551234567'), CallStatus: 'CALLING' });
    const pop = await popFor(page, (c) => c.args.params?.recordId === jane, 'the SOBJECT pop');
    expect(pop.args).toEqual({ type: 'sobject', params: { recordId: jane } });
    const all = await cti(page);
    const shown = all.findIndex((c) => c.method === 'setSoftphonePanelVisibility' && c.args.visible === true);
    expect(shown).toBeGreaterThanOrEqual(0);
    expect(shown).toBeLessThan(all.indexOf(all.find((c) => c.method === 'screenPop')!));
    await panel(page).locator('#card h2', { hasText: 'Jane Roe' }).waitFor({ timeout: 10_000 });
    await shot(page, 'known-caller');

    // The call goes on: Answer and Hangup move the card, and never pop again.
    await sendEvent(t.url, 'answer-in', inbound(id, '0003*210', '0015551234567'));
    await sendEvent(t.url, 'hangup', { ...inbound(id, '0003*210', '0015551234567'), CallStatus: 'ANSWER' });
    await panel(page).locator('#card[data-state="ended"]').waitFor({ timeout: 10_000 });
    expect((await pops(page)).filter((c) => c.args.params?.recordId === jane)).toHaveLength(1);
  });

  it('several records hold the number: a SEARCH pop for the number, and the record the agent clicks on the card opens in the console', async () => {
    const id = newCallId();
    await sendEvent(t.url, 'dial-in', inbound(id, '0003*210', '0015552220000', 'SAM TWIN'));
    const search = await popFor(page, (c) => c.args.type === 'search', 'the SEARCH pop');
    expect(search.args).toEqual({ type: 'search', params: { searchString: '+15552220000' } });
    const links = panel(page).locator('#card .records a');
    await links.first().waitFor({ timeout: 10_000 });
    await expect(links.count()).resolves.toBe(2);
    await shot(page, 'several');
    await panel(page).locator('#card .records a', { hasText: 'Sam Twin (lead)' }).click();
    const chosen = await popFor(page, (c) => c.args.params?.recordId === twinLead, 'the chosen record');
    expect(chosen.args).toEqual({ type: 'sobject', params: { recordId: twinLead } });
    expect((await pops(page)).some((c) => c.args.params?.recordId === twinContact)).toBe(false);
    // Only the console navigated: no new browser tab.
    expect(context.pages()).toHaveLength(1);
    await sendEvent(t.url, 'hangup', { ...inbound(id, '0003*210', '0015552220000'), CallStatus: 'NOANSWER' });
  });

  it('an unknown caller opens the new-Contact modal with the number and the caller-ID name as plain field values; with unknownCaller: create-contact it does not', async () => {
    const before = (await pops(page)).length;
    const created = newCallId();
    // 0003*212 creates unknown callers itself: a modal would make a second record.
    await sendEvent(t.url, 'dial-in', inbound(created, '0003*212', '0015553330000', 'NOT POPPED'));
    await panel(page).locator('#card .number', { hasText: '+1 555 333 0000' }).waitFor({ timeout: 10_000 });
    const id = newCallId();
    await sendEvent(t.url, 'dial-in', inbound(id, '0003*210', '0015559990000', `MARY O'NEIL-MAJOR "QA"`));
    const modal = await popFor(page, (c) => c.args.type === 'newRecord', 'the NEW_RECORD_MODAL pop');
    expect(modal.args).toEqual({ type: 'newRecord', params: { entityName: 'Contact' }, defaultFieldValues: { Phone: '+15559990000', FirstName: `MARY O'NEIL-MAJOR`, LastName: '"QA"' } });
    const after = (await pops(page)).slice(before);
    expect(after).toHaveLength(1); // the create-contact call popped nothing
    await shot(page, 'unknown-caller');
    await sendEvent(t.url, 'hangup', { ...inbound(id, '0003*210', '0015559990000'), CallStatus: 'NOANSWER' });
    await sendEvent(t.url, 'hangup', { ...inbound(created, '0003*212', '0015553330000'), CallStatus: 'NOANSWER' });
  });

  it('a Dial-Out pops the called party when the mapping has popOnDialOut, and nothing when it is off', async () => {
    const before = (await pops(page)).length;
    const outbound = (callId: string, ext: string) => ({ CallID: callId, CallerIDNum: ext, CallerExtension: ext, CalledNumber: '0015551234567', CallFlow: 'OUT', CallStatus: 'CALLING' });
    const off = newCallId();
    await sendEvent(t.url, 'dial-out', outbound(off, '0003*214'));
    const on = newCallId();
    await sendEvent(t.url, 'dial-out', outbound(on, '0003*210'));
    const added = await eventually(
      async () => {
        const now = (await pops(page)).slice(before);
        return now.length ? now : undefined;
      },
      15_000,
      'the Dial-Out pop',
    );
    expect(added).toEqual([{ method: 'screenPop', args: { type: 'sobject', params: { recordId: jane } } }]);
    // popOnDialOut: false: the connector published no card for that call at all.
    expect(updates.some((u) => u.record.callId === off)).toBe(false);
    for (const [callId, ext] of [
      [off, '0003*214'],
      [on, '0003*210'],
    ])
      await sendEvent(t.url, 'hangup', { ...outbound(callId, ext), CallStatus: 'ANSWER' });
  });

  it("another extension's calls never reach the panel", async () => {
    const before = (await pops(page)).length;
    const foreign = newCallId();
    await sendEvent(t.url, 'dial-in', inbound(foreign, '0003*211', '0015554440000'));
    // A call of the panel's own after it: once that one pops, the other would have too.
    const own = newCallId();
    await sendEvent(t.url, 'dial-in', inbound(own, '0003*210', '0015552220000'));
    const added = await eventually(
      async () => {
        const now = (await pops(page)).slice(before);
        return now.length ? now : undefined;
      },
      15_000,
      "the own call's pop",
    );
    expect(added).toEqual([{ method: 'screenPop', args: { type: 'search', params: { searchString: '+15552220000' } } }]);
    await panel(page).locator('#card .number', { hasText: '+1 555 222 0000' }).waitFor({ timeout: 10_000 });
    expect(await panel(page).locator('#vncc-agent').textContent()).not.toContain('+1 555 444 0000');
    await sendEvent(t.url, 'hangup', { ...inbound(own, '0003*210', '0015552220000'), CallStatus: 'NOANSWER' });
    await sendEvent(t.url, 'hangup', { ...inbound(foreign, '0003*211', '0015554440000'), CallStatus: 'NOANSWER' });
  });

  it('stays bound in a new browser session (no code asked); opened while a phone rings, it pops that call, not one that already ended', async () => {
    await context.close();
    // While the browser is closed: one call rings and stays ringing, another rings and ends.
    const ended = newCallId();
    await sendEvent(t.url, 'dial-in', inbound(ended, '0003*210', '0015559990000', 'GONE AWAY'));
    await sendEvent(t.url, 'hangup', { ...inbound(ended, '0003*210', '0015559990000'), CallStatus: 'NOANSWER' });
    const ringing = newCallId();
    await sendEvent(t.url, 'dial-in', inbound(ringing, '0003*210', '0015551234567'));
    await eventually(() => updates.find((u) => u.record.callId === ringing && u.lookup?.status === 'done'), 10_000, 'the ringing call published');
    await eventually(() => updates.find((u) => u.record.callId === ended && u.event === 'hangup'), 10_000, 'the ended call published');

    context = await launchProfile(join(dir, 'profile'));
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${hosts.url}/lightning`);
    await panel(page).locator('#connection[data-state="live"]').waitFor({ timeout: 15_000 });
    await expect(panel(page).locator('#vncc-bind').isHidden()).resolves.toBe(true);
    await popFor(page, (c) => c.args.params?.recordId === jane, 'the pop of the call still ringing');
    // Both calls are on the card's list; the ended one popped nothing.
    await panel(page).locator('#recent li').nth(0).waitFor({ timeout: 10_000 });
    expect((await pops(page)).map((c) => c.args.type)).toEqual(['sobject']);
    await sendEvent(t.url, 'hangup', { ...inbound(ringing, '0003*210', '0015551234567'), CallStatus: 'NOANSWER' });
  });

  it('a page from an origin not configured cannot frame the panel; a browser that blocks embedded storage still pops after pairing, and says it cannot remember', async () => {
    const res = await fetch(`${t.url}/embed/salesforce`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain(`frame-ancestors ${hosts.origin}`);
    expect(csp).not.toContain(other.origin);
    const incognito = await browser.newContext({ viewport: { width: 900, height: 700 } });
    try {
      const q = await incognito.newPage();
      await q.goto(`${other.url}/lightning?frame=${encodeURIComponent(`${t.url}/embed/salesforce?sfdcIframeOrigin=${encodeURIComponent(other.origin)}`)}`);
      const refused = await eventually(() => q.frames().find((f) => f !== q.mainFrame()), 10_000, 'the frame');
      await eventually(async () => (refused.url().startsWith('chrome-error:') ? true : undefined), 10_000, 'the refused frame');

      const created = await admin('', { method: 'POST', body: JSON.stringify({ extensions: ['0003*213'], label: 'Kiosk, private window' }) });
      const { code } = (await created.json()) as { code: string };
      const p = await incognito.newPage();
      await p.goto(`${hosts.url}/lightning`);
      await panel(p).locator('#vncc-code').fill(code);
      await panel(p).locator('#vncc-bind-form button').click();
      await panel(p).locator('#connection[data-state="live"]').waitFor({ timeout: 15_000 });
      await expect(panel(p).locator('#vncc-crm-state').textContent()).resolves.toMatch(/does not let the panel remember/);
      const id = newCallId();
      await sendEvent(t.url, 'dial-in', inbound(id, '0003*213', '0015551234567'));
      await popFor(p, (c) => c.args.params?.recordId === jane, 'the pop in the private window');
      expect(await cti(q)).toEqual([]);
      await sendEvent(t.url, 'hangup', { ...inbound(id, '0003*213', '0015551234567'), CallStatus: 'NOANSWER' });
    } finally {
      await incognito.close();
    }
  });

  it('a revoked binding empties the open panel, which asks for a new code', async () => {
    const res = await admin(`/${bindingId}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    await panel(page).locator('#vncc-bind').waitFor({ state: 'visible', timeout: 15_000 });
    await expect(panel(page).locator('#vncc-bind-state').textContent()).resolves.toMatch(/disconnected|revoked/);
    await expect(panel(page).locator('#vncc-agent').isHidden()).resolves.toBe(true);
    const before = (await pops(page)).length;
    const id = newCallId();
    await sendEvent(t.url, 'dial-in', inbound(id, '0003*210', '0015551234567'));
    // The connector still publishes the call's card; the panel, which has no stream any more, pops nothing.
    await eventually(() => updates.find((u) => u.record.callId === id && u.lookup?.status === 'done'), 10_000, 'the card published');
    expect((await pops(page)).length).toBe(before);
    const list = (await (await admin('')).json()) as { bindings: { id: string }[] };
    expect(list.bindings.map((b: { id: string }) => b.id)).not.toContain(bindingId);
  });
});
