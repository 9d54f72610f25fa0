import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventQueueService } from '../../src/queue/event-queue.service';
import { FakeHubSpot, startFakeHubSpot } from '../fakes/fake-hubspot';
import { eventually, newCallId, sendEvent, startTestApp, TestApp } from '../support/test-app';

/**
 * Call logging under load against a HubSpot whose rate limit is on: calls are looked up and
 * logged in batches, within the connection's budget, each exactly once.
 */
describe('CRM API economy (HubSpot, rate limit on)', () => {
  let hs: FakeHubSpot;
  let t: TestApp;
  let dir: string;
  const contactOf = new Map<string, string>();
  const CALLS = 300;
  const number = (i: number) => `001555${String(2000000 + i).padStart(7, '0')}`;

  beforeAll(async () => {
    hs = await startFakeHubSpot();
    hs.setRateLimit({ perWindow: 190, windowMs: 10_000 });
    hs.addOwner({ id: '77', email: 'ann@example.com' });
    // Every third caller is a known contact, stored the way people type numbers.
    for (let i = 0; i < CALLS; i += 3) {
      const d = String(2000000 + i).padStart(7, '0');
      contactOf.set(number(i), hs.addContact({ firstname: `Caller ${i}`, phone: `(555) ${d.slice(0, 3)}-${d.slice(3)}` }));
    }
    dir = mkdtempSync(join(tmpdir(), 'vncc-economy-'));
    writeFileSync(
      join(dir, 'connector.yaml'),
      `calls: { hangupSettleMs: 0 }
workers: { callLogConcurrency: 300, callLogAttempts: 3 }
connections:
  hs:
    type: hubspot
    basePath: "${hs.url}"
    auth: { flow: private-app, tokenEnv: HS_TOKEN }
    rateLimit: { requests: 190, perSeconds: 10 }
    batch: { maxSize: 100, lingerMs: 250 }
mappings:
  defaults:
    connection: hs
    country: US
    owner: { id: "77" }
    actions: { popOnDialIn: false, popOnDialOut: false }
  extensions:
    "0003*299": { owner: { id: "999" } }
    "0003*220": { actions: { popOnDialIn: true } }
`,
    );
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), HS_TOKEN: 'pat-test-token' });
  });
  afterAll(async () => {
    await t?.close();
    await hs?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const hangup = (callId: string, from: string, ext = '0003*210') => sendEvent(t.url, 'hangup', { CallID: callId, CallerIDNum: from, CalledExtension: ext, CallFlow: 'IN', CallStatus: 'ANSWER' });

  it(`logs ${CALLS} calls exactly once, against the right contacts, in a fraction of a request each and with no 429`, async () => {
    const sent: string[] = [];
    for (let i = 0; i < CALLS; i += 30) {
      const wave = Array.from({ length: 30 }, (_, j) => ({ id: newCallId(), from: number(i + j) }));
      const statuses = await Promise.all(wave.map((c) => hangup(c.id, c.from).then((r) => r.status)));
      expect(statuses.every((s) => s === 202)).toBe(true);
      sent.push(...wave.map((c) => c.id));
    }
    await eventually(() => (hs.calls().length >= CALLS ? true : undefined), 60_000, `${CALLS} calls in HubSpot`);

    const keys = hs.calls().map((c) => c.properties.voipnow_call_key);
    expect(new Set(keys).size).toBe(CALLS);
    for (const c of hs.calls()) {
      const from = c.properties.hs_call_from_number!;
      const contact = contactOf.get(from);
      expect(c.associations).toEqual(contact ? [expect.objectContaining({ to: { id: contact } })] : []);
      expect(c.properties.hubspot_owner_id).toBe('77');
    }
    expect(hs.requests.filter((r) => r.status === 429)).toHaveLength(0);
    // One request a call would be 300 searches, 300 key checks and 300 creates.
    expect(hs.requests.length / CALLS).toBeLessThan(0.3);
  });

  it('at low load, a call whose Dial-In looked the caller up costs one request to log: the create', async () => {
    const callId = newCallId();
    const from = '0015559876543';
    contactOf.set(from, hs.addContact({ firstname: 'Lone', phone: '(555) 987-6543' }));
    const searches = () => hs.requests.filter((r) => r.path === '/crm/v3/objects/contacts/search').length;
    const before = searches();
    expect((await sendEvent(t.url, 'dial-in', { CallID: callId, CallerIDNum: from, CalledExtension: '0003*220', CallFlow: 'IN', CallStatus: 'CALLING' })).status).toBe(202);
    // The pop's lookup: the contact search, then the card's context (the caller's open deals).
    const deals = () => hs.requests.filter((r) => r.path === '/crm/v3/objects/deals/search').length;
    const dealsBefore = deals();
    await eventually(() => (searches() > before && deals() > dealsBefore ? true : undefined), 10_000, 'the pop lookup');
    const requestsBefore = hs.requests.length;
    const calls = hs.calls().length;
    expect((await hangup(callId, from, '0003*220')).status).toBe(202);
    await eventually(() => (hs.calls().length > calls ? true : undefined), 10_000, 'the call logged');
    await new Promise((r) => setTimeout(r, 300));
    const requests = hs.requests.slice(requestsBefore).map((r) => `${r.method} ${r.path}`);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatch(/^POST \/crm\/v3\/objects\/calls(\/batch\/create)?$/);
    expect(hs.calls().at(-1)!.associations).toEqual([expect.objectContaining({ to: { id: contactOf.get(from) } })]);
  });

  it('a call HubSpot refuses (unknown owner) fails alone; the calls batched with it are logged', async () => {
    const before = hs.calls().length;
    const good = Array.from({ length: 5 }, () => ({ id: newCallId(), from: number(1) }));
    const bad = { id: newCallId(), from: number(2) };
    await Promise.all([...good.map((c) => hangup(c.id, c.from)), hangup(bad.id, bad.from, '0003*299')]);
    await eventually(() => (hs.calls().length >= before + 5 ? true : undefined), 20_000, 'the good calls');
    const queues = t.app.get(EventQueueService);
    const failed = await eventually(
      async () => {
        const jobs = await queues.callLog.getFailed();
        return jobs.find((j) => j.data.callId === bad.id);
      },
      20_000,
      'the refused call in the failed set',
    );
    expect(failed.failedReason).toMatch(/999 is not a valid owner id/);
    expect(hs.calls().length).toBe(before + 5);
  });
});
