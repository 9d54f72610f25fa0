import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserContext, FrameLocator, Page } from 'playwright-core';
import { escapeIdPart } from '../../src/ingest/call-event';
import { CrmHosts, startCrmHosts } from '../fakes/fake-crm-hosts';
import { FakeHubSpot, startFakeHubSpot } from '../fakes/fake-hubspot';
import { ARTIFACTS } from '../screen-pop/browser';
import { eventually, newCallId, sendEvent, startTestApp, TEST_ADMIN_TOKEN, TestApp } from '../support/test-app';
import { launchProfile } from './profile';

type Message = { type: string; data?: any };
const PORTAL = 4242;

/**
 * The HubSpot calling panel in Chromium: HubSpot's real Calling Extensions SDK runs inside the
 * iframe and talks to a page standing in for HubSpot that speaks its postMessage protocol (SYNC /
 * SYNC_ACK, then records every message). The connector runs for real against a fake HubSpot. The
 * stand-in does what HubSpot does with an INCOMING_CALL that asks for an engagement: it creates
 * one in the portal (the fake), so a panel that asked would leave two engagements per call.
 */
describe('HubSpot calling panel in Chromium', () => {
  let hs: FakeHubSpot;
  let t: TestApp;
  let hosts: CrmHosts;
  let dir: string;
  let context: BrowserContext;
  let page: Page;
  let jane: string;
  let twins: string[];
  const hubspotCreated = new Set<string>();

  beforeAll(async () => {
    hs = await startFakeHubSpot({ portalId: PORTAL });
    hs.addOwner({ id: '77', email: 'ann@example.com', firstName: 'Ann' });
    jane = hs.addContact({ firstname: 'Jane', lastname: 'Roe', company: 'Acme', phone: '(555) 123-4567' });
    twins = [hs.addContact({ firstname: 'Sam', lastname: 'Twin', phone: '555-222-0000' }), hs.addContact({ firstname: 'Samantha', lastname: 'Twin', phone: '+1 555 222 0000' })];
    dir = mkdtempSync(join(tmpdir(), 'vncc-embed-hs-'));
    writeFileSync(
      join(dir, 'connector.yaml'),
      `calls: { hangupSettleMs: 50 }
connections:
  hs: { type: hubspot, basePath: "${hs.url}", auth: { flow: private-app, tokenEnv: HS_EMBED_TOKEN } }
mappings:
  organisations:
    "0003*": { connection: hs, country: US, owner: { id: "77" } }
`,
    );
    hosts = await startCrmHosts(() => t.url, { portalId: PORTAL });
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), HS_EMBED_TOKEN: 'pat-test-token', EMBED_HUBSPOT_ORIGINS: hosts.origin });
    context = await launchProfile(join(dir, 'profile'));
    page = context.pages()[0] ?? (await context.newPage());
  }, 60_000);
  afterAll(async () => {
    await context?.close();
    await t?.close();
    await hs?.close();
    await hosts?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const inbound = (callId: string, ext: string, from: string, name = 'J ROE') => ({
    CallID: callId,
    CallerIDNum: from,
    CallerIDNam: name,
    CalledExtension: ext,
    CalledDID: '+15550001111',
    CallFlow: 'IN',
  });
  const panel = (p: Page): FrameLocator => p.frameLocator('#calling');
  const received = (p: Page): Promise<Message[]> => p.evaluate(() => (globalThis as any).__received);
  const of = async (callId: string) => (await received(page)).filter((m) => JSON.stringify(m.data ?? {}).includes(`"vn-${escapeIdPart(callId)}"`));
  const message = (type: string, pred: (m: Message) => boolean = () => true) => eventually(async () => (await received(page)).find((m) => m.type === type && pred(m)), 15_000, type);
  /** HubSpot's side of an INCOMING_CALL: it creates the call's engagement when asked to. */
  const actLikeHubSpot = async () => {
    for (const m of await received(page)) {
      if (m.type !== 'INCOMING_CALL' || m.data.createEngagement === false || hubspotCreated.has(m.data.externalCallId)) continue;
      hubspotCreated.add(m.data.externalCallId);
      hs.addCall({ hs_call_title: 'Call from HubSpot', hs_call_direction: 'INBOUND', hs_call_from_number: m.data.fromNumber });
    }
  };
  const shot = (name: string) => page.locator('#calling').screenshot({ path: join(ARTIFACTS, `embed-hubspot-${name}.png`) });

  it('syncs with HubSpot, logs in once paired, and pops a known caller: INCOMING_CALL keyed by the call key, without an engagement, then the contact opens', async () => {
    await page.goto(`${hosts.url}/hubspot`);
    await eventually(() => page.evaluate(() => (globalThis as any).__synced || undefined), 15_000, 'SYNC_ACK');
    await message('INITIALIZED');
    expect((await received(page)).find((m) => m.type === 'INITIALIZED')!.data).toEqual({ isLoggedIn: false, isAvailable: false });

    const created = await fetch(`${t.url}/admin/embed/bindings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ extensions: ['0003*210'], label: 'Ann Lee, HubSpot' }),
    });
    const { code } = (await created.json()) as { code: string };
    await panel(page).locator('#vncc-code').fill(code);
    await shot('pairing');
    await panel(page).locator('#vncc-bind-form button').click();
    await panel(page).locator('#connection[data-state="live"]').waitFor({ timeout: 15_000 });
    await message('LOGGED_IN');
    await message('USER_AVAILABLE');

    const id = newCallId();
    const key = `vn-${escapeIdPart(id)}`;
    await sendEvent(t.url, 'dial-in', { ...inbound(id, '0003*210', '0015551234567'), CallStatus: 'CALLING' });
    const incoming = await message('INCOMING_CALL', (m) => m.data.externalCallId === key);
    expect(incoming.data).toMatchObject({ externalCallId: key, fromNumber: '+15551234567', toNumber: '+15550001111', createEngagement: false });
    const nav = await message('NAVIGATE_TO_RECORD');
    expect(nav.data).toEqual({ objectCoordinates: { portalId: PORTAL, objectId: Number(jane), objectTypeId: '0-1' } });
    await panel(page).locator('#card h2', { hasText: 'Jane Roe' }).waitFor({ timeout: 10_000 });
    await shot('known-caller');
    await actLikeHubSpot();

    // Answer and Hangup reach HubSpot; the connector logs the call once, and that engagement is the call's.
    await sendEvent(t.url, 'answer-in', inbound(id, '0003*210', '0015551234567'));
    await message('CALL_ANSWERED', (m) => m.data.externalCallId === key);
    await sendEvent(t.url, 'hangup', { ...inbound(id, '0003*210', '0015551234567'), CallStatus: 'ANSWER' });
    const endedMsg = await message('CALL_ENDED', (m) => m.data.externalCallId === key);
    expect(endedMsg.data).toEqual({ externalCallId: key, callEndStatus: 'COMPLETED' });
    // The agent wraps up in the panel: notes, then "Save and log now" (else the log waits out the wrap-up window).
    await panel(page).locator('#card textarea').fill('Asked for a quote.');
    await panel(page).locator('#card button.save-log').click();
    const completed = await message('CALL_COMPLETED', (m) => m.data.externalCallId === key);
    const engagements = hs.calls();
    expect(engagements).toHaveLength(1);
    expect(completed.data).toEqual({ externalCallId: key, engagementId: Number(engagements[0].id), hideWidget: false });
    expect(engagements[0].properties.voipnow_call_key).toContain(key);
  });

  it('several contacts hold the number: the call reaches HubSpot, no record is forced open, and the one the agent picks on the card opens; an unknown caller: the call only', async () => {
    const navigations = async () => (await received(page)).filter((m) => m.type === 'NAVIGATE_TO_RECORD');
    const before = (await navigations()).length;
    const several = newCallId();
    await sendEvent(t.url, 'dial-in', inbound(several, '0003*210', '0015552220000', 'SAM TWIN'));
    await message('INCOMING_CALL', (m) => m.data.externalCallId === `vn-${escapeIdPart(several)}`);
    const links = panel(page).locator('#card .records a');
    await links.nth(1).waitFor({ timeout: 10_000 });
    expect(await navigations()).toHaveLength(before);
    await shot('several');
    await links.nth(1).click();
    const picked = await eventually(async () => (await navigations())[before], 10_000, 'the picked record');
    expect(twins).toContain(String(picked.data.objectCoordinates.objectId));
    expect(picked.data.objectCoordinates).toMatchObject({ portalId: PORTAL, objectTypeId: '0-1' });
    expect(context.pages()).toHaveLength(1); // opened in HubSpot, not in a new tab

    const unknown = newCallId();
    await sendEvent(t.url, 'dial-in', inbound(unknown, '0003*210', '0015559990000', 'NEW PERSON'));
    const incoming = await message('INCOMING_CALL', (m) => m.data.externalCallId === `vn-${escapeIdPart(unknown)}`);
    expect(incoming.data).toMatchObject({ fromNumber: '+15559990000', createEngagement: false });
    await panel(page).locator('#card .number', { hasText: '+1 555 999 0000' }).waitFor({ timeout: 10_000 });
    expect(await navigations()).toHaveLength(before + 1);

    await actLikeHubSpot();
    await sendEvent(t.url, 'hangup', { ...inbound(several, '0003*210', '0015552220000'), CallStatus: 'NOANSWER' });
    await sendEvent(t.url, 'hangup', { ...inbound(unknown, '0003*210', '0015559990000'), CallStatus: 'NOANSWER' });
    await message('CALL_COMPLETED', (m) => m.data.externalCallId === `vn-${escapeIdPart(unknown)}`);
    await message('CALL_COMPLETED', (m) => m.data.externalCallId === `vn-${escapeIdPart(several)}`);
    // One engagement per call, each written by the connector.
    expect(hs.calls()).toHaveLength(3);
    expect(hubspotCreated.size).toBe(0);
  });

  it("another extension's calls never reach HubSpot through this panel", async () => {
    const foreign = newCallId();
    await sendEvent(t.url, 'dial-in', inbound(foreign, '0003*211', '0015551234567'));
    const own = newCallId();
    await sendEvent(t.url, 'dial-in', inbound(own, '0003*210', '0015552220000'));
    await message('INCOMING_CALL', (m) => m.data.externalCallId === `vn-${escapeIdPart(own)}`);
    expect(await of(foreign)).toEqual([]);
    for (const [callId, ext, from] of [
      [foreign, '0003*211', '0015551234567'],
      [own, '0003*210', '0015552220000'],
    ])
      await sendEvent(t.url, 'hangup', { ...inbound(callId, ext, from), CallStatus: 'NOANSWER' });
  });
});
