import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { signAgentToken } from '../../src/screen-pop/agent-token';
import { FakeSalesforce, startFakeSalesforce } from '../fakes/fake-salesforce';
import { eventually, newCallId, sendEvent, startTestApp, TestApp } from '../support/test-app';
import { agentContext, agentTab, ARTIFACTS, expectEachOnce, launchChromium } from './browser';

const SECRET = 'agent-link-secret-for-desk-tests-0123';

/**
 * What the agent does on the card, in a real browser against the whole connector: the wrap-up
 * (notes, disposition, the record the call belongs to) landing on the one CRM activity, before
 * the log and after it; ring groups, where the members who did not answer see who did; creating
 * an unknown caller from two cards at once. Salesforce (the fake, through jsforce) where the
 * assertion is about the CRM activity; the file CRM for the rest.
 */
describe('Agent card: wrap-up, ring groups, create contact (Chromium)', () => {
  let browser: Browser;
  let context: BrowserContext;
  let t: TestApp;
  let sf: FakeSalesforce;
  let dir: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    sf = await startFakeSalesforce({ clientId: 'client-1', clientSecret: 'secret-1', refreshTokens: ['refresh-desk'] });
    ids.ann = sf.add('User', { Name: 'Ann Agent', Email: 'ann@acme.example', IsActive: true });
    ids.account = sf.add('Account', { Name: 'Acme Corp', OwnerId: ids.ann });
    ids.contact = sf.add('Contact', { Name: 'Jane Roe', AccountId: ids.account, Phone: '(555) 123-4567', OwnerId: ids.ann, LastActivityDate: '2026-11-20' });
    ids.lead = sf.add('Lead', { Name: 'Jay Roe', Company: 'Roe Ltd', MobilePhone: '+1 555 123 4567', IsConverted: false, OwnerId: ids.ann });
    ids.opp1 = sf.add('Opportunity', { Name: 'Renewal 2027', AccountId: ids.account, IsClosed: false, LastModifiedDate: '2026-11-02T10:00:00.000+0000' });
    ids.opp2 = sf.add('Opportunity', { Name: 'Upsell seats', AccountId: ids.account, IsClosed: false, LastModifiedDate: '2026-11-03T10:00:00.000+0000' });
    ids.case = sf.add('Case', { CaseNumber: '00001026', Subject: 'Printer jam', AccountId: ids.account, ContactId: ids.contact, IsClosed: false, LastModifiedDate: '2026-11-10T10:00:00.000+0000' });
    ids.maria = sf.add('Contact', { Name: 'Maria Garcia', Phone: '+1 555 987 6543', OwnerId: ids.ann });

    dir = mkdtempSync(join(tmpdir(), 'vncc-desk-'));
    writeFileSync(join(dir, 'contacts.csv'), readFileSync(resolve(__dirname, '../../config/contacts.csv')));
    writeFileSync(
      join(dir, 'connector.yaml'),
      `calls: { hangupSettleMs: 100, wrapUpWindowSeconds: 60 }
connections:
  sales:
    type: salesforce
    displayName: Salesforce EU
    loginUrl: ${sf.url}
    auth: { flow: refresh-token, clientId: client-1, clientSecretEnv: SF_DESK_SECRET, refreshTokenEnv: SF_DESK_REFRESH }
  demo: { type: file, displayName: Demo CRM, contactsCsv: contacts.csv, callLogFile: calls.jsonl, country: US }
mappings:
  organisations:
    "0003*": { connection: sales, country: US, owner: { email: ann@acme.example } }
    "0004*": { connection: demo, country: US }
  extensions:
    "0003*310": { label: Ann Lee }
    "0004*204": { label: Ann Lee }
    "0004*205": { label: Bob Diaz }
`,
    );
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), AGENT_LINK_SECRET: SECRET, SF_DESK_SECRET: 'secret-1', SF_DESK_REFRESH: 'refresh-desk' });
    browser = await launchChromium();
    context = await agentContext(browser);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await sf?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const link = (...ext: string[]) => signAgentToken(SECRET, ext).token;
  const inbound = (callId: string, ext: string, from = '0015551234567', name = 'J ROE') => ({
    CallID: callId,
    CallerIDNum: from,
    CallerIDNam: name,
    CalledExtension: ext,
    CalledDID: '+3222222222',
    CalledNumber: '+3222222222',
    CallFlow: 'IN',
  });
  const live = (page: Page) => page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
  const card = (page: Page) => page.locator('#card');
  const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `screen-pop-${name}.png`), fullPage: true });
  const tasksOf = (callId: string) => sf.tasks().filter((task) => String(task.Description).includes(`VoipNow CallID: ${callId}`));
  async function open(ext: string) {
    const tab = await agentTab(context);
    await tab.page.goto(`${t.url}/agent?token=${link(ext)}`);
    await live(tab.page);
    return tab;
  }
  const activeId = (page: Page) => page.evaluate(() => (globalThis as any).document.activeElement?.id as string);

  it('shows what matters about the caller and why each record matched; notes, disposition and the chosen record typed during the call land on the one Task the log writes, and typing survives updates', async () => {
    const { page, seen, close } = await open('0003*310');
    const id = newCallId();
    await sendEvent(t.url, 'dial-in', { ...inbound(id, '0003*310'), CallStatus: 'CALLING' });
    await card(page).locator('h2', { hasText: 'Jane Roe' }).waitFor({ timeout: 10_000 });
    await expect(card(page).locator('.line').textContent()).resolves.toBe('On line Ann Lee · 0003*310 · dialled +32 2 222 22 22');
    await expect(card(page).locator('.lookup').textContent()).resolves.toBe('2 records in Salesforce EU');
    await expect(card(page).locator('.facts').textContent()).resolves.toBe(
      `Owner: Ann Agent · Last activity ${await page.evaluate(() => new Date('2026-11-20').toLocaleDateString([], { year: 'numeric', month: 'short', day: 'numeric' }))}`,
    );
    await expect(card(page).locator('.context li').allTextContents()).resolves.toEqual(['2 open opportunities: Upsell seats, Renewal 2027', '1 open case: 00001026: Printer jam']);
    await expect(card(page).locator('.context a', { hasText: 'Upsell seats' }).getAttribute('href')).resolves.toBe(`${sf.url}/lightning/r/Opportunity/${ids.opp2}/view`);
    // Ranked, each with why it matched.
    await expect(card(page).locator('.records li').allTextContents()).resolves.toEqual(['Jane Roe · Acme Corp (Contact)Contact · Phone', 'Jay Roe · Roe Ltd (Lead)Lead · Mobile phone']);

    // The record choice: the best match preselected.
    const wrapUp = card(page).locator('form.wrap-up');
    await expect(wrapUp.getByLabel('Jane Roe · Acme Corp (Contact)').isChecked()).resolves.toBe(true);
    await expect(wrapUp.getByRole('combobox', { name: 'Disposition' }).locator('option').allTextContents()).resolves.toEqual([
      '— choose —',
      'Connected',
      'Left voicemail',
      'No answer',
      'Busy',
      'Wrong number',
      'Follow-up needed',
    ]);

    await sendEvent(t.url, 'answer-in', inbound(id, '0003*310'));
    await card(page).locator('.state', { hasText: 'Talking' }).waitFor({ timeout: 10_000 });
    await wrapUp.getByLabel('Jay Roe · Roe Ltd (Lead)').check();
    await wrapUp.getByLabel('Disposition').selectOption({ label: 'Left voicemail' });
    await wrapUp.getByLabel('Notes').fill('Wants a callback about the renewal.');
    await wrapUp.getByRole('button', { name: 'Save', exact: true }).click();
    await wrapUp.locator('.saved', { hasText: 'Saved — logged with the call when it ends' }).waitFor({ timeout: 10_000 });
    await expect(wrapUp.locator('.saved').getAttribute('role')).resolves.toBe('status');

    // The agent goes on typing (unsaved) while the call ends: the Hangup and the "logs at" updates redraw the card, not the form.
    const notes = wrapUp.getByLabel('Notes');
    await notes.focus();
    await page.keyboard.press('End');
    await page.keyboard.type(' Prefers e-mail.');
    const notesId = await notes.getAttribute('id');
    await sendEvent(t.url, 'hangup', { ...inbound(id, '0003*310'), CallStatus: 'ANSWER' });
    await card(page).locator('.state', { hasText: 'Ended · Answered' }).waitFor({ timeout: 10_000 });
    const logsAt = await eventually(async () => (await seen()).find((u) => u.data.record.callId === id && u.data.offers?.logsAt)?.data.offers.logsAt as number | undefined, 10_000, 'the log time');
    const at = await page.evaluate((ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }), logsAt);
    await wrapUp.locator('.saved', { hasText: `Saved — logged with the call at ${at}` }).waitFor({ timeout: 10_000 });
    await expect(notes.inputValue()).resolves.toBe('Wants a callback about the renewal. Prefers e-mail.');
    await expect(activeId(page)).resolves.toBe(notesId);
    await expect(wrapUp.getByLabel('Jay Roe · Roe Ltd (Lead)').isChecked()).resolves.toBe(true);
    expect(tasksOf(id)).toHaveLength(0); // held for the wrap-up window
    await shot(page, 'wrap-up');

    // Keyboard: from the notes, Tab reaches the disposition and the buttons, each with a visible focus ring.
    const ring = () =>
      page.evaluate(() => {
        const { document, getComputedStyle } = globalThis as any;
        const el = document.activeElement;
        const style = getComputedStyle(el);
        return `${el.tagName.toLowerCase()}|${el.tagName === 'SELECT' ? '' : el.textContent.trim()}|${style.outlineStyle !== 'none' && style.outlineWidth !== '0px' ? 'visible' : 'hidden'}`;
      });
    const reached: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      await page.keyboard.press('Tab');
      reached.push(await ring());
    }
    expect(reached).toEqual(['select||visible', 'button|Save|visible', 'button|Save and log now|visible']);

    // Finished before the window ends: "Save and log now" logs it at once, with the final notes.
    await page.keyboard.press('Enter');
    const [task] = await eventually(() => (tasksOf(id).length ? tasksOf(id) : undefined), 15_000, 'the Task');
    expect(task).toMatchObject({ WhoId: ids.lead, CallDisposition: 'Left voicemail' });
    expect(String(task.Description)).toMatch(/^Wants a callback about the renewal\. Prefers e-mail\./);
    await wrapUp.locator('.saved', { hasText: /^Logged$/ }).waitFor({ timeout: 10_000 });
    await card(page).locator('.activity', { hasText: 'Logged in Salesforce EU' }).waitFor({ timeout: 10_000 });
    expect(tasksOf(id)).toHaveLength(1);
    expectEachOnce(await seen());
    await close();
  });

  it('a CRM search slower than the pop budget (2.5 s): the ringing card shows the number and "Looking up…", then fills in while the phone still rings', async () => {
    sf.inject({ method: 'GET', pathIncludes: '/search', delayMs: 2500, slowOnly: true });
    const { page } = await open('0003*310');
    const callId = newCallId();
    expect((await sendEvent(t.url, 'dial-in', { ...inbound(callId, '0003*310', '0015559876543', 'M GARCIA'), CallStatus: 'CALLING' })).status).toBe(202);
    await card(page).locator('.lookup', { hasText: 'Looking up' }).waitFor({ timeout: 10_000 });
    await expect(card(page).locator('.number').textContent()).resolves.toContain('+1 555 987 6543');
    await card(page).locator('h2.caller', { hasText: 'Maria Garcia' }).waitFor({ timeout: 10_000 });
    expect(await card(page).getAttribute('data-state')).toBe('ringing');
    // The caller gives up: the call is over before the next test's call on this line.
    await sendEvent(t.url, 'hangup', { ...inbound(callId, '0003*310', '0015559876543', 'M GARCIA'), CallStatus: 'CANCEL' });
    await card(page).locator('.state', { hasText: 'Missed' }).waitFor({ timeout: 10_000 });
    await page.close();
  });

  it('a wrap-up saved after the call was logged updates that same Task (one activity)', async () => {
    const { page, close } = await open('0003*310');
    const id = newCallId();
    await sendEvent(t.url, 'dial-in', { ...inbound(id, '0003*310', '0015559876543'), CallStatus: 'CALLING' });
    await card(page).locator('h2', { hasText: 'Maria Garcia' }).waitFor({ timeout: 10_000 });
    await sendEvent(t.url, 'answer-in', inbound(id, '0003*310', '0015559876543'));
    await sendEvent(t.url, 'hangup', { ...inbound(id, '0003*310', '0015559876543'), CallStatus: 'ANSWER' });
    await card(page).locator('.state', { hasText: 'Ended · Answered' }).waitFor({ timeout: 10_000 });
    const wrapUp = card(page).locator('form.wrap-up');
    // Nothing to add yet: logged now, bare.
    await wrapUp.getByRole('button', { name: 'Save and log now' }).click();
    await card(page).locator('.activity', { hasText: 'Logged in Salesforce EU' }).waitFor({ timeout: 15_000 });
    const [logged] = tasksOf(id);
    expect(logged.CallDisposition).toBe('Answered');

    // Back to it later: the notes and disposition update the Task already written.
    await expect(wrapUp.getByRole('button', { name: 'Save and log now' }).isHidden()).resolves.toBe(true);
    await wrapUp.getByLabel('Notes').fill('Sent the quote afterwards.');
    await wrapUp.getByLabel('Disposition').selectOption({ label: 'Follow-up needed' });
    await wrapUp.getByRole('button', { name: 'Save (updates the CRM)' }).click();
    await wrapUp.locator('.saved', { hasText: 'Updated in the CRM' }).waitFor({ timeout: 15_000 });
    const tasks = tasksOf(id);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ Id: logged.Id, CallDisposition: 'Follow-up needed', WhoId: ids.maria });
    expect(String(tasks[0].Description)).toMatch(/^Sent the quote afterwards\./);
    await close();
  });

  it("a ring group: once one member answers, the others' cards say who took the call (no ringing timer), in the recent list too; a member's link cannot write to another member's call", async () => {
    const group = ['0004*204', '0004*205', '0004*206'];
    const tabs = await Promise.all(group.map((ext) => open(ext)));
    const id = newCallId();
    for (const ext of group) await sendEvent(t.url, 'dial-in', { ...inbound(id, ext), CallStatus: 'CALLING' });
    for (const { page } of tabs) await card(page).locator('.state', { hasText: 'Ringing' }).waitFor({ timeout: 10_000 });
    await expect(card(tabs[1].page).locator('.line').textContent()).resolves.toBe('On line Bob Diaz · 0004*205 · dialled +32 2 222 22 22');
    await expect(card(tabs[0].page).locator('.lookup').textContent()).resolves.toBe('Found in Demo CRM');

    await sendEvent(t.url, 'answer-in', inbound(id, '0004*204'));
    await card(tabs[0].page).locator('.state', { hasText: 'Talking' }).waitFor({ timeout: 10_000 });
    for (const { page } of tabs.slice(1)) {
      await card(page).locator('.state', { hasText: 'Answered by Ann Lee' }).waitFor({ timeout: 10_000 });
      await expect(card(page).getAttribute('data-state')).resolves.toBe('elsewhere');
      await expect(card(page).locator('.timer').textContent()).resolves.toBe('');
    }
    await shot(tabs[1].page, 'answered-elsewhere');

    // 206's link, used on 204's call: refused, and 204's card shows no wrap-up.
    const refused = await tabs[2].page.evaluate(
      async ([callId, token]: string[]) => {
        const res = await fetch('agent/calls/wrap-up', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ callId, extension: '0004*204', notes: 'not my call' }),
        });
        return { status: res.status, message: ((await res.json()) as { message: string }).message };
      },
      [id, link('0004*206')],
    );
    expect(refused).toEqual({ status: 403, message: expect.stringContaining('This link is for 0004*206') });

    await sendEvent(t.url, 'hangup', { ...inbound(id, '0004*205'), CallStatus: 'NOANSWER' });
    await sendEvent(t.url, 'hangup', { ...inbound(id, '0004*206'), CallStatus: 'NOANSWER' });
    await sendEvent(t.url, 'hangup', { ...inbound(id, '0004*204'), CallStatus: 'ANSWER' });
    await card(tabs[0].page).locator('.state', { hasText: 'Ended · Answered' }).waitFor({ timeout: 10_000 });
    for (const { page } of tabs.slice(1)) {
      await eventually(
        async () => ((await page.evaluate(() => (globalThis as any).__seen.filter((u: any) => u.data.event === 'hangup').length)) > 0 ? true : undefined),
        10_000,
        'the Hangup on the card',
      );
      await expect(card(page).locator('.state').textContent()).resolves.toBe('Answered by Ann Lee');
    }
    const wrapUps = (await tabs[0].seen()).filter((u) => u.data.record.callId === id && u.data.wrapUp);
    expect(wrapUps).toEqual([]);

    // The next call takes 205's card; the one Ann took stays listed as hers.
    await sendEvent(t.url, 'dial-in', { ...inbound(newCallId(), '0004*205', '0015559876543'), CallStatus: 'CALLING' });
    await card(tabs[1].page).locator('h2', { hasText: 'Maria Garcia' }).waitFor({ timeout: 10_000 });
    await expect(tabs[1].page.locator('#recent li .what').first().textContent()).resolves.toBe('↓ Answered by Ann Lee');
    for (const tab of tabs) expectEachOnce(await tab.seen());
    await Promise.all(tabs.map((tab) => tab.close()));
  });

  it('an unknown caller created from two cards at once is one contact, and both cards show it', async () => {
    const [a, b] = await Promise.all([open('0004*207'), open('0004*208')]);
    const id = newCallId();
    const from = '0013125550123';
    for (const ext of ['0004*207', '0004*208']) await sendEvent(t.url, 'dial-in', { ...inbound(id, ext, from, 'PAT CALLER'), CallStatus: 'CALLING' });
    for (const { page } of [a, b]) {
      await card(page).locator('h2', { hasText: 'Unknown caller' }).waitFor({ timeout: 10_000 });
      const form = card(page).locator('form.create-contact');
      await expect(form.getByLabel('Name').inputValue()).resolves.toBe('PAT CALLER');
      await expect(form.locator('.hint').textContent()).resolves.toBe('Number: +1 312 555 0123');
      // No record to choose between yet: no empty choice box.
      await expect(card(page).locator('form.wrap-up fieldset.belongs').isHidden()).resolves.toBe(true);
    }
    await a.page.locator('#card form.create-contact').getByLabel('Name').fill('Pat Caller');
    await b.page.locator('#card form.create-contact').getByLabel('Name').fill('Pat Caller');
    await shot(a.page, 'create-contact');
    // Both clicks land before either creation is back: a click that waited for the button to be
    // actionable could find it gone, the other card having already shown the created contact.
    await Promise.all(
      [a, b].map(({ page }) =>
        page
          .locator('#card form.create-contact')
          .getByRole('button', { name: 'Create contact' })
          .evaluate((button: any) => button.click()),
      ),
    );
    for (const { page } of [a, b]) {
      await card(page).locator('h2', { hasText: 'Pat Caller' }).waitFor({ timeout: 15_000 });
      await expect(card(page).locator('form.create-contact').isHidden()).resolves.toBe(true);
      await expect(card(page).locator('.records a').textContent()).resolves.toMatch(/^Pat Caller/);
    }
    const rows = readFileSync(join(dir, 'contacts.csv'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('+13125550123'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('"Pat Caller"');
    await Promise.all([a.close(), b.close()]);
    // Two pages, two creations and their updates: slow on a loaded machine, not a measure of anything.
  }, 60_000);

  it('a save the server refuses says why, out loud, and keeps what was typed (here: the link expired while the agent typed)', async () => {
    // A link that expires a few seconds from now.
    const token = signAgentToken(SECRET, ['0003*312'], { ttlHours: 1, now: Date.now() - 3600_000 + 8000 }).token;
    const { page, close } = await agentTab(context);
    await page.goto(`${t.url}/agent?token=${token}`);
    await live(page);
    const id = newCallId();
    await sendEvent(t.url, 'dial-in', { ...inbound(id, '0003*312', '0015559876543'), CallStatus: 'CALLING' });
    await card(page).locator('h2', { hasText: 'Maria Garcia' }).waitFor({ timeout: 10_000 });
    const wrapUp = card(page).locator('form.wrap-up');
    await wrapUp.getByLabel('Notes').fill('Typed before the link ran out.');
    // The stream ends at expiry and the page says the link is refused.
    await page.locator('#connection[data-state="refused"]').waitFor({ timeout: 20_000 });
    await wrapUp.getByRole('button', { name: 'Save', exact: true }).click();
    const error = wrapUp.locator('.error');
    await error.filter({ hasText: /^Not saved: The agent link expired at / }).waitFor({ timeout: 10_000 });
    await expect(error.getAttribute('role')).resolves.toBe('alert');
    await expect(wrapUp.getByLabel('Notes').inputValue()).resolves.toBe('Typed before the link ran out.');
    await close();
  });

  it('fits a narrow screen: nothing wider than the phone, the wrap-up usable', async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(`${t.url}/agent?token=${link('0003*311')}`);
    await live(page);
    const id = newCallId();
    await sendEvent(t.url, 'dial-in', { ...inbound(id, '0003*311'), CallStatus: 'CALLING' });
    await sendEvent(t.url, 'answer-in', inbound(id, '0003*311'));
    await card(page).locator('.state', { hasText: 'Talking' }).waitFor({ timeout: 10_000 });
    await card(page).locator('form.wrap-up').getByLabel('Notes').fill('Narrow screen notes.');
    await expect(page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).resolves.toBeLessThanOrEqual(360);
    const save = await card(page).locator('form.wrap-up').getByRole('button', { name: 'Save', exact: true }).boundingBox();
    expect(save!.x + save!.width).toBeLessThanOrEqual(360);
    await shot(page, 'narrow');
    await sendEvent(t.url, 'hangup', { ...inbound(id, '0003*311'), CallStatus: 'ANSWER' });
    await page.close();
  });
});
