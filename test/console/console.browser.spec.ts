import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { escapeIdPart } from '../../src/ingest/call-event';
import { EventQueueService } from '../../src/queue/event-queue.service';
import { logCallJobId } from '../../src/queue/queues';
import { FakeHubSpot, startFakeHubSpot } from '../fakes/fake-hubspot';
import { ARTIFACTS, launchChromium } from '../screen-pop/browser';
import { eventually, newCallId, sendEvent, startTestApp, TEST_ADMIN_TOKEN, TestApp } from '../support/test-app';

/** The configuration the tests start from: comments and alignment that an edit must keep. */
const CONFIG = (hsUrl: string) => `# Console test configuration (a comment the console must keep).
calls: { hangupSettleMs: 50, wrapUpWindowSeconds: 0 }
workers: { callLogAttempts: 2, callLogBackoffMs: 100 }

connections:
  hs:
    type: hubspot                 # the fake HubSpot
    basePath: "${hsUrl}"
    auth: { flow: private-app, tokenEnv: HS_TOKEN }
  hs-old:
    type: hubspot                 # the same portal, with a token it no longer accepts
    basePath: "${hsUrl}"
    auth: { flow: private-app, tokenEnv: HS_OLD_TOKEN }

mappings:
  # No defaults: organisation 0005 is unmapped.
  organisations:
    "0003*": { connection: hs, country: US, owner: { id: "77" } }   # sales floor
  extensions:
    "0003*210":
      label: Ann Lee              # shown on colleagues' cards
    "0003*211":
      owner: { email: carol@example.com }   # nobody in the CRM has this e-mail
`;

/**
 * The ops console in Chromium against a running connector and a fake HubSpot: each screen walked
 * end to end as ops would, with the mouse and keyboard, and a screenshot of each for the docs.
 */
jest.setTimeout(90_000);

describe('Ops console in Chromium', () => {
  let hs: FakeHubSpot;
  let t: TestApp;
  let dir: string;
  let file: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    hs = await startFakeHubSpot();
    hs.addOwner({ id: '77', email: 'ann@example.com', firstName: 'Ann' });
    hs.addOwner({ id: '88', email: 'bob@example.com', firstName: 'Bob' });
    hs.addContact({ firstname: 'Jane', lastname: 'Roe', company: 'Acme', phone: '(555) 123-4567' });
    dir = mkdtempSync(join(tmpdir(), 'vncc-console-'));
    file = join(dir, 'connector.yaml');
    writeFileSync(file, CONFIG(hs.url));
    t = await startTestApp({ CONFIG_FILE: file, HS_TOKEN: 'pat-test-token', HS_OLD_TOKEN: 'pat-revoked-token' });
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
    // A laptop screen.
    context = await browser.newContext({ viewport: { width: 1366, height: 860 } });
    page = await context.newPage();
    page.on('dialog', (d) => void d.accept());
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await hs?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const inbound = (callId: string, ext: string, from = '0015551234567') => ({
    CallID: callId,
    CallerIDNum: from,
    CallerIDNam: 'J ROE',
    CalledExtension: ext,
    CalledNumber: '+3222222222',
    CallFlow: 'IN',
  });
  const answeredCall = async (ext: string, callId = newCallId()) => {
    await sendEvent(t.url, 'dial-in', { ...inbound(callId, ext), CallStatus: 'CALLING' });
    await sendEvent(t.url, 'answer-in', inbound(callId, ext));
    await sendEvent(t.url, 'hangup', { ...inbound(callId, ext), CallStatus: 'ANSWER' });
    return callId;
  };
  const jobState = async (callId: string, ext: string) => (await t.app.get(EventQueueService).callLog.getJob(logCallJobId(callId, ext)))?.getState();
  const finished = (callId: string, ext: string) =>
    eventually(
      async () => {
        const state = await jobState(callId, ext);
        return state === 'completed' || state === 'failed' ? state : undefined;
      },
      20_000,
      `the call-log job of ${callId} on ${ext}`,
    );
  const hsCallsOf = (callId: string) => hs.calls().filter((c) => c.properties.voipnow_call_key === `vn-${escapeIdPart(callId)}`);
  const shot = (name: string, p: Page = page) => p.screenshot({ path: join(ARTIFACTS, `console-${name}.png`), fullPage: true });
  /** Searches Recent calls and waits for that search's answer (not the table as it was). */
  const searchCalls = async (by: 'number' | 'extension' | 'callId', q: string) => {
    await page.locator('#calls-by').selectOption(by);
    await page.locator('#calls-q').fill(q);
    await page.locator('#calls-form button[type="submit"]').click();
    await page.locator(`#calls[data-query="${by}=${q}"]`).waitFor();
  };
  const go = async (view: string) => {
    await page.click(`#nav a[data-view="${view}"]`);
    await page.locator(`#view-${view}`).waitFor({ state: 'visible' });
  };

  it('is served with a strict CSP and no framing, asks for the admin token, and shows each connection and the queues', async () => {
    const res = await page.goto(`${t.url}/admin/console`);
    expect(res!.status()).toBe(200);
    const headers = res!.headers();
    expect(headers['content-security-policy']).toContain("script-src 'self'");
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['set-cookie']).toBeUndefined();

    // A wrong token is refused with the reason; the right one opens the overview.
    await page.locator('#token').fill('not-the-token');
    await page.keyboard.press('Enter');
    await page.locator('#signin-error', { hasText: 'refused' }).waitFor();
    await page.locator('#token').fill(TEST_ADMIN_TOKEN);
    await page.keyboard.press('Enter');
    await page.locator('#view-overview').waitFor({ state: 'visible' });
    const hsRow = page.locator('#connections tr[data-connection="hs"]');
    await hsRow.waitFor();
    await expect(hsRow.locator('.state').textContent()).resolves.toBe('Ready');
    await expect(hsRow.textContent()).resolves.toMatch(/portal \d+/);
    const oldRow = page.locator('#connections tr[data-connection="hs-old"]');
    await expect(oldRow.locator('.state').textContent()).resolves.toBe('Credentials failing');
    await expect(oldRow.textContent()).resolves.toContain('auth:');
    await expect(page.locator('#queues').textContent()).resolves.toContain('call-log');
    // Kept in this tab's sessionStorage only: no cookie carries it.
    await expect(page.evaluate(() => (globalThis as any).sessionStorage.getItem('vncc-admin-token'))).resolves.toBe(TEST_ADMIN_TOKEN);
    expect(await context.cookies()).toEqual([]);

    // Keyboard: from the top, Tab reaches the skip link and the sections, each with a visible focus ring; Enter opens one and focuses its heading.
    // (A reload: the token is still in this tab's sessionStorage, and focus starts at the top.)
    await page.reload();
    await page.locator('#connections tr[data-connection="hs"]').waitFor();
    const focused = () =>
      page.evaluate(() => {
        const { document, getComputedStyle } = globalThis as any;
        const el = document.activeElement;
        const style = getComputedStyle(el);
        return `${el.tagName.toLowerCase()}:${el.textContent.trim().replace(/\s+\d+$/, '')}|${style.outlineStyle !== 'none' && style.outlineWidth !== '0px' ? 'ring' : 'no ring'}`;
      });
    const reached: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      await page.keyboard.press('Tab');
      reached.push(await focused());
    }
    expect(reached).toEqual(['a:Skip to content|ring', 'a:Overview|ring', 'a:Unlogged calls|ring']);
    await page.keyboard.press('Enter');
    await page.locator('#view-inbox').waitFor({ state: 'visible' });
    await expect(focused()).resolves.toBe('h2:Unlogged calls|ring');
    await go('overview');

    // Pause and resume from the overview.
    await hsRow.locator('button', { hasText: 'Pause 1 h' }).click();
    await page.locator('#connections tr[data-connection="hs"] .state-paused').waitFor();
    await page.locator('#connections tr[data-connection="hs"] button', { hasText: 'Resume' }).click();
    await page.locator('#connections tr[data-connection="hs"] .state-ready').waitFor();
    await shot('overview-signed-in');
  });

  it('a call whose owner is not in the CRM appears in the inbox with the reason; fixing the mapping and replaying logs it once', async () => {
    const callId = await answeredCall('0003*211');
    await expect(finished(callId, '0003*211')).resolves.toBe('failed');
    expect(hsCallsOf(callId)).toHaveLength(0);

    await go('inbox');
    const jobId = logCallJobId(callId, '0003*211');
    const group = page.locator('section.group[data-category="owner-not-found"]');
    const row = group.locator(`tr[data-job="${jobId}"]`);
    await row.waitFor();
    await expect(group.locator('h3').textContent()).resolves.toMatch(/^Owner not found/);
    await expect(row.locator('td.reason').textContent()).resolves.toContain('No CRM user with e-mail carol@example.com');
    // The caller's number is masked.
    await expect(row.textContent()).resolves.toContain('from **********567');
    await expect(page.locator('#view-inbox').textContent()).resolves.not.toContain('15551234567');
    await shot('inbox');

    // Fix the owner in Mappings: the file is edited in place, its comments kept.
    await go('mappings');
    await page.locator('#rules tr[data-key="0003*211"] button', { hasText: 'Edit' }).click();
    await expect(page.locator('#rule-owner').inputValue()).resolves.toBe('carol@example.com');
    await page.locator('#rule-owner').fill('bob@example.com');
    await page.locator('#rule-save').click();
    expect(page.locator('#status')).toBeTruthy();
    await eventually(async () => ((await page.locator('#status').textContent())?.includes('Saved mappings.extensions.0003*211') ? true : undefined), 10_000, 'the save');
    const edited = readFileSync(file, 'utf8');
    expect(edited).toContain('bob@example.com');
    expect(edited).not.toContain('carol@example.com');
    const before = CONFIG(hs.url).split('\n');
    const after = edited.split('\n');
    // Everything but the edited rule's lines is byte for byte what it was.
    expect(after.slice(0, before.indexOf('    "0003*211":'))).toEqual(before.slice(0, before.indexOf('    "0003*211":')));
    // The connector uses it at once.
    const resolved = (await (await fetch(`${t.url}/admin/mappings/resolve?extension=${encodeURIComponent('0003*211')}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).json()) as {
      owner?: unknown;
    };
    expect(resolved.owner).toEqual({ email: 'bob@example.com' });

    // Replay from the inbox; the outcome lands on the page.
    await go('inbox');
    await row.locator('input[type="checkbox"]').check();
    await group.locator('button', { hasText: 'Replay selected' }).click();
    const result = page.locator(`#replay-results p[data-job="${jobId}"]`);
    await page.locator(`#replay-results p[data-job="${jobId}"][data-outcome="logged"]`).waitFor({ timeout: 20_000 });
    await expect(result.textContent()).resolves.toMatch(/logged in hs as \d+/);
    expect(hsCallsOf(callId)).toHaveLength(1);
    expect(hsCallsOf(callId)[0].properties.hubspot_owner_id).toBe('88');
    await page.locator(`tr[data-job="${jobId}"]`).waitFor({ state: 'detached' });

    // A second replay is refused (already logged) and logs nothing.
    const again = await fetch(`${t.url}/admin/unlogged/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [jobId] }),
    });
    expect(await again.json()).toEqual({ replayed: [], refused: [{ jobId, why: 'already logged' }] });
    expect(hsCallsOf(callId)).toHaveLength(1);
  });

  it('an unmapped extension: a new organisation rule from the form, then a group replay logs each call once; a discarded call leaves the inbox with its reason', async () => {
    const first = await answeredCall('0005*300');
    const second = await answeredCall('0005*301');
    const third = await answeredCall('0005*302');
    for (const [id, ext] of [
      [first, '0005*300'],
      [second, '0005*301'],
      [third, '0005*302'],
    ])
      await expect(finished(id, ext)).resolves.toBe('completed');

    await go('inbox');
    const group = page.locator('section.group[data-category="unmapped"]');
    for (const [id, ext] of [
      [first, '0005*300'],
      [second, '0005*301'],
      [third, '0005*302'],
    ])
      await group.locator(`tr[data-job="${logCallJobId(id, ext)}"]`).waitFor();

    // Discard one with a reason.
    await group.locator(`tr[data-job="${logCallJobId(third, '0005*302')}"] input[type="checkbox"]`).check();
    await group.locator('input[id$="-reason"]').fill('test call from the PBX vendor');
    await group.locator('button', { hasText: 'Discard selected' }).click();
    await page.locator(`tr[data-job="${logCallJobId(third, '0005*302')}"]`).waitFor({ state: 'detached' });

    await go('mappings');
    await page.locator('#rule-clear').click();
    await page.locator('#rule-level').selectOption('organisations');
    await page.locator('#rule-key').fill('0005*');
    await page.locator('#rule-connection').selectOption('hs');
    await page.locator('#rule-owner-kind').selectOption('id');
    await page.locator('#rule-owner').fill('77');
    await page.locator('#rule-country').fill('US');
    await page.locator('#rule-save').click();
    await page.locator('#rules tr[data-key="0005*"]').waitFor();
    expect(readFileSync(file, 'utf8')).toContain('"0005*":');

    await go('inbox');
    await page.locator('section.group[data-category="unmapped"] input[id$="-all"]').check();
    await page.locator('section.group[data-category="unmapped"] button', { hasText: 'Replay selected' }).click();
    for (const [id, ext] of [
      [first, '0005*300'],
      [second, '0005*301'],
    ]) {
      await page.locator(`#replay-results p[data-job="${logCallJobId(id, ext)}"][data-outcome="logged"]`).waitFor({ timeout: 20_000 });
      expect(hsCallsOf(id)).toHaveLength(1);
    }
    expect(hsCallsOf(third)).toHaveLength(0);

    // The discarded call says so in Recent calls.
    await go('calls');
    await searchCalls('callId', third);
    await expect(page.locator(`#calls tr[data-call="${third}"] td.log`).textContent()).resolves.toBe('discarded by ops: test call from the PBX vendor');
  });

  it('an invalid edit is refused line by line and leaves the file untouched', async () => {
    await go('mappings');
    const text = readFileSync(file, 'utf8');
    await page.locator('#rules tr[data-key="0003*210"] button', { hasText: 'Edit' }).click();
    await page.locator('#rule-owner-kind').selectOption('email');
    await page.locator('#rule-owner').fill('not-an-e-mail');
    await page.locator('#rule-country').fill('U1');
    await page.locator('#rule-save').click();
    const problems = page.locator('#rule-problems li');
    await problems.first().waitFor();
    const lines = await problems.allTextContents();
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^line \d+: mappings\.extensions\.0003\*210\.owner\.email: Invalid email address$/),
        expect.stringMatching(/^line \d+: mappings\.extensions\.0003\*210\.country: must be a two-letter ISO country code such as US or GB$/),
      ]),
    );
    await expect(page.locator('#rule-problems .error').textContent()).resolves.toContain('the file was not changed');
    expect(readFileSync(file, 'utf8')).toBe(text);

    // The effective rule of an extension, and a lookup on its connection.
    await page.locator('#resolve-extension').fill('0003*211');
    await page.locator('#resolve-form button[type="submit"]').click();
    await page.locator('#resolve-result dl').waitFor();
    await expect(page.locator('#resolve-result p').textContent()).resolves.toBe('Matched at the extension level. Rules applied, least specific first: organisations.0003* → extensions.0003*211.');
    await expect(page.locator('#resolve-result dl').textContent()).resolves.toContain('Connectionhs' + 'Owner' + 'bob@example.com' + 'CountryUS');
    await page.locator('#lookup-connection').selectOption('hs');
    await page.locator('#lookup-number').fill('+1 555 123 4567');
    await page.locator('#lookup-form button[type="submit"]').click();
    await page.locator('#lookup-result .matches li').waitFor();
    await expect(page.locator('#lookup-result .matches li').textContent()).resolves.toMatch(/^Jane Roe, Acme · contact \d+ · matched on phone$/);
    await shot('mappings');
  });

  it('issues an agent link, lists it, and revoking it stops its open page while another link of the extension keeps working; then all links of the extension are revoked at once', async () => {
    await go('links');
    const issue = async (previous?: string) => {
      await page.locator('#link-extensions').fill('0003*212');
      await page.locator('#link-form button[type="submit"]').click();
      const shown = await eventually(
        async () => {
          const value = await page
            .locator('#link-url')
            .inputValue({ timeout: 1000 })
            .catch(() => undefined);
          return value && value !== previous ? value : undefined;
        },
        10_000,
        'the new link',
      );
      const url = new URL(shown);
      // The page is opened on this test's connector (PUBLIC_URL is not set here).
      return { shown, url: `${t.url}${url.pathname}${url.search}` };
    };
    const revoked = await issue();
    const kept = await issue(revoked.shown);
    const [revokedUrl, keptUrl] = [revoked.url, kept.url];
    const rows = page.locator('#links tbody tr[data-link]');
    await eventually(async () => ((await rows.count()) === 2 ? true : undefined), 10_000, 'two links listed');

    const agent = await context.newPage();
    await agent.goto(revokedUrl);
    await agent.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
    const other = await context.newPage();
    await other.goto(keptUrl);
    await other.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });

    // The overview lists the extension as watched by an open page.
    const overview = (await (await fetch(`${t.url}/admin/overview`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).json()) as any;
    expect(overview.agentPages.watched).toEqual(expect.arrayContaining([{ extension: '0003*212', instances: 1 }]));
    expect(overview.agentPages.onThisInstance).toBe(2);

    const id = new URL(revokedUrl).searchParams.get('token')!.split('.')[0];
    const payload = JSON.parse(Buffer.from(id, 'base64url').toString('utf8')) as { id: string };
    await page.locator(`#links tr[data-link="${payload.id}"] button`, { hasText: 'Revoke' }).click();
    await page.locator(`#links tr[data-link="${payload.id}"]`, { hasText: 'revoked' }).waitFor();
    await shot('links');

    await agent.locator('#connection[data-state="refused"]').waitFor({ timeout: 15_000 });
    await expect(agent.locator('#connection').textContent()).resolves.toContain('revoked');
    await agent.screenshot({ path: join(ARTIFACTS, 'console-agent-link-revoked.png') });
    // The page cannot be opened again with it.
    const reopened = await fetch(revokedUrl);
    expect(reopened.status).toBe(403);
    // The other link's page still gets calls.
    const callId = newCallId();
    await sendEvent(t.url, 'dial-in', { ...inbound(callId, '0003*212'), CallStatus: 'CALLING' });
    await other.locator('#card h2', { hasText: 'Jane Roe' }).waitFor({ timeout: 10_000 });
    await expect(other.locator('#connection').getAttribute('data-state')).resolves.toBe('live');
    await agent.close();
    await other.close();

    // Every link of one extension at once: filter by it, then revoke all shown.
    await page.locator('#links-filter').fill('0003*212');
    await page.locator('#links-refresh').click();
    await page.locator('#links-revoke-all', { hasText: 'Revoke all 1 for 0003*212' }).click();
    await page.locator(`#links tr[data-link]`, { hasText: 'valid' }).waitFor({ state: 'detached' });
    expect((await fetch(kept.url)).status).toBe(403);
    await expect(page.locator('#links-revoke-all').isDisabled()).resolves.toBe(true);
  });

  it('recent calls by number, extension and CallID, with what happened at each step; a ring-group call is logged once', async () => {
    // A ring group: 0003*220 and 0003*221 ring, 221 answers, 220 gets its Hangup while 221 talks.
    const callId = newCallId();
    for (const ext of ['0003*220', '0003*221']) await sendEvent(t.url, 'dial-in', { ...inbound(callId, ext), CallStatus: 'CALLING' });
    await sendEvent(t.url, 'answer-in', inbound(callId, '0003*221'));
    await sendEvent(t.url, 'hangup', { ...inbound(callId, '0003*220'), CallStatus: 'CANCEL' });
    await expect(finished(callId, '0003*220')).resolves.toBe('completed');

    await go('calls');
    await searchCalls('callId', callId);
    const leg = (ext: string) => page.locator(`#calls tr[data-call="${callId}"][data-extension="${ext}"]`);
    await expect(leg('0003*220').locator('td.log').textContent()).resolves.toBe('not logged: part of a call still going on at 0003*221: logged once when it ends');
    await expect(leg('0003*220').locator('td.pop').textContent()).resolves.toMatch(/^popped on dial-in · hs · matched \d+$/);

    await sendEvent(t.url, 'hangup', { ...inbound(callId, '0003*221'), CallStatus: 'ANSWER' });
    await expect(finished(callId, '0003*221')).resolves.toBe('completed');
    await eventually(() => (hsCallsOf(callId).length === 1 ? true : undefined), 10_000, 'the ring-group call in HubSpot');
    const activity = hsCallsOf(callId)[0].id;

    // By number: every call from it, numbers masked.
    await searchCalls('number', '555 123 4567');
    await expect(leg('0003*221').locator('td.log').textContent()).resolves.toBe(`logged in hs as ${activity}`);
    await expect(page.locator('#calls tbody').textContent()).resolves.not.toContain('5551234567');
    await expect(page.locator('#calls tbody').textContent()).resolves.toContain('from **********567');
    // By extension: only that extension's calls.
    // The admin API's own list masks numbers the same way.
    const recent = JSON.stringify(await (await fetch(`${t.url}/admin/calls/recent?limit=50`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).json());
    expect(recent).toContain('**********567');
    expect(recent).not.toContain('5551234567');
    await searchCalls('extension', '0003*220');
    const extensions = await page.locator('#calls tbody tr').evaluateAll((rows) => rows.map((r: any) => r.dataset.extension));
    expect(new Set(extensions)).toEqual(new Set(['0003*220']));
    await shot('calls');
    expect(hsCallsOf(callId)).toHaveLength(1);

    // The overview after this file's calls: four customer calls logged in the last hour (the
    // replayed one, the two unmapped ones replayed, the ring-group call), none failed or skipped
    // (the discarded call is neither).
    await go('overview');
    const lastHour = page.locator('#call-counts tbody tr', { hasText: 'Last hour' });
    // (Polled: the table shows the first test's counts until this visit's answer lands.)
    await eventually(async () => ((await lastHour.locator('td').allTextContents()).join() === '4,0,0' ? true : undefined), 10_000, 'the last hour: 4 logged, 0 skipped, 0 failed');
    await shot('overview');
  });
});
