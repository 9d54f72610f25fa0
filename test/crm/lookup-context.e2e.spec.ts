import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallUpdate } from '../../src/calls/call-update.publisher';
import { LookupService } from '../../src/crm/lookup.service';
import { phoneQuery } from '../../src/crm/phone';
import type { RedisClient } from '../../src/redis/redis-connection';
import { FakeHubSpot, startFakeHubSpot } from '../fakes/fake-hubspot';
import { FakeRequest } from '../fakes/fake-server';
import { FakeSalesforce, startFakeSalesforce } from '../fakes/fake-salesforce';
import { eventually, newCallId, sendEvent, startTestApp, subscribeUpdates, TestApp } from '../support/test-app';

/**
 * What the card shows beside a match — owner, last activity, open opportunities/deals and cases —
 * costs one request beyond the search at most, rides in the lookup cache (a repeat caller costs
 * nothing), and never fails a lookup. And the card fills in when the CRM is slower than the pop's
 * budget: "pending" first, then the match.
 */
describe('Lookup context and the slow-CRM card', () => {
  let t: TestApp;
  let sf: FakeSalesforce;
  let hs: FakeHubSpot;
  let dir: string;
  let lookups: LookupService;
  let sub: RedisClient;
  const updates: CallUpdate[] = [];
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    sf = await startFakeSalesforce();
    hs = await startFakeHubSpot();
    const ann = sf.add('User', { Name: 'Ann Agent', Email: 'ann@acme.example', IsActive: true });
    ids.account = sf.add('Account', { Name: 'Acme Corp', OwnerId: ann });
    ids.contact = sf.add('Contact', { Name: 'Jane Roe', AccountId: ids.account, Phone: '(555) 123-4567', OwnerId: ann, LastActivityDate: '2026-11-20' });
    ids.loneLead = sf.add('Lead', { Name: 'Lee Lead', Company: 'Leads Inc', MobilePhone: '+1 555 222 3333', IsConverted: false });
    // Four open opportunities (newest last), one closed; two open cases, one closed.
    for (let i = 1; i <= 4; i += 1) ids[`opp${i}`] = sf.add('Opportunity', { Name: `Renewal ${i}`, AccountId: ids.account, IsClosed: false, LastModifiedDate: `2026-11-0${i}T10:00:00.000+0000` });
    sf.add('Opportunity', { Name: 'Won long ago', AccountId: ids.account, IsClosed: true });
    ids.case1 = sf.add('Case', { CaseNumber: '00001026', Subject: 'Printer jam', AccountId: ids.account, ContactId: ids.contact, IsClosed: false, LastModifiedDate: '2026-11-10T10:00:00.000+0000' });
    ids.case2 = sf.add('Case', { CaseNumber: '00001027', Subject: 'Invoice query', AccountId: ids.account, IsClosed: false, LastModifiedDate: '2026-11-11T10:00:00.000+0000' });
    sf.add('Case', { CaseNumber: '00001001', Subject: 'Solved', AccountId: ids.account, IsClosed: true });
    // A slow contact for the pending → done card.
    ids.slow = sf.add('Contact', { Name: 'Sam Slow', Phone: '+1 555 777 8888' });

    ids.hsContact = hs.addContact({ firstname: 'Hal', lastname: 'Hub', phone: '+15553334444', hubspot_owner_id: '77', notes_last_updated: '2026-11-21T09:00:00.000Z' });
    const other = hs.addContact({ firstname: 'Other', lastname: 'Person', phone: '+15559990000' });
    for (let i = 1; i <= 4; i += 1) ids[`deal${i}`] = hs.addDeal({ dealname: `Deal ${i}`, dealstage: 'appointmentscheduled', hs_lastmodifieddate: `2026-11-0${i}T10:00:00.000Z` }, [ids.hsContact]);
    hs.addDeal({ dealname: 'Closed deal', dealstage: 'closedwon' }, [ids.hsContact]);
    hs.addDeal({ dealname: 'Not theirs', dealstage: 'appointmentscheduled' }, [other]);

    dir = mkdtempSync(join(tmpdir(), 'vncc-context-'));
    writeFileSync(
      join(dir, 'connector.yaml'),
      `connections:
  sales: { type: salesforce, loginUrl: "${sf.url}", auth: { flow: refresh-token, clientId: client-1, clientSecretEnv: SF_CTX_SECRET, refreshTokenEnv: SF_CTX_REFRESH } }
  hub: { type: hubspot, basePath: "${hs.url}", portalId: 4242, uiDomain: app.hubspot.com, auth: { flow: private-app, tokenEnv: HS_CTX_TOKEN } }
mappings:
  defaults: { connection: sales, country: US }
`,
    );
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), SF_CTX_SECRET: 'secret-1', SF_CTX_REFRESH: '5Aep861-refresh-1', HS_CTX_TOKEN: 'pat-test-token' });
    lookups = t.app.get(LookupService);
    sub = await subscribeUpdates(t.prefix, updates);
  });
  afterAll(async () => {
    sub?.disconnect();
    await t?.close();
    await sf?.close();
    await hs?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** API requests (not the OAuth grant) a CRM received while `fn` ran. */
  async function requestsDuring(crm: FakeSalesforce | FakeHubSpot, fn: () => Promise<unknown>): Promise<FakeRequest[]> {
    const before = crm.requests.length;
    await fn();
    // Sign-ins and the connection health checks readiness runs meanwhile (Salesforce /limits) are not the lookup's.
    return crm.requests.slice(before).filter((r) => !r.path.includes('/oauth') && !r.path.endsWith('/limits'));
  }
  const us = (n: string) => phoneQuery(n, 'US')!;

  it('Salesforce: owner, last activity, open opportunities and cases of the Account, in one SOQL after the search; a repeat lookup costs no request', async () => {
    let result!: Awaited<ReturnType<LookupService['lookup']>>;
    const first = await requestsDuring(sf, async () => (result = await lookups.lookup('sales', us('0015551234567'))));
    expect(first.map((r) => r.path.replace(/^\/services\/data\/v\d+\.\d/, ''))).toEqual(['/search', '/query']);
    const [match] = result.matches;
    const base = `${sf.url}/lightning/r`;
    expect(match).toMatchObject({
      recordType: 'Contact',
      id: ids.contact,
      ownerName: 'Ann Agent',
      lastActivityAt: '2026-11-20',
      matchedOn: { object: 'Contact', field: 'Phone' },
      context: [
        { kind: 'deals', label: 'Open opportunities', count: 4, items: [4, 3, 2].map((i) => ({ name: `Renewal ${i}`, url: `${base}/Opportunity/${ids[`opp${i}`]}/view` })) },
        {
          kind: 'cases',
          label: 'Open cases',
          count: 2,
          items: [
            { name: '00001027: Invoice query', url: `${base}/Case/${ids.case2}/view` },
            { name: '00001026: Printer jam', url: `${base}/Case/${ids.case1}/view` },
          ],
        },
      ],
    });
    // The context rides in the cache: the Answer, the Hangup and the next call from this number cost nothing.
    let again!: Awaited<ReturnType<LookupService['lookup']>>;
    await eventually(async () => ((await t.redis.exists(lookups.key('sales', us('0015551234567')))) ? true : undefined), 5000, 'the cache entry');
    expect(await requestsDuring(sf, async () => (again = await lookups.lookup('sales', us('+15551234567'))))).toEqual([]);
    expect(again).toEqual({ cached: true, matches: result.matches });
  });

  it('Salesforce: a Lead (no Account) costs only the search; the batched call-log path never fetches context', async () => {
    const lead = await requestsDuring(sf, () => lookups.lookup('sales', us('5552223333')));
    expect(lead.map((r) => r.path.split('/').pop())).toEqual(['search']);
    await lookups.invalidate('sales', us('5551234567'));
    let bulk!: Awaited<ReturnType<LookupService['lookup']>>;
    const batched = await requestsDuring(sf, async () => (bulk = await lookups.lookup('sales', us('5551234567'), { bulk: true })));
    expect(batched.map((r) => r.path.split('/').pop())).toEqual(['search']);
    expect(bulk.matches[0]).toMatchObject({ id: ids.contact, matchedOn: { object: 'Contact', field: 'Phone' } });
    expect(bulk.matches[0].context).toBeUndefined();
  });

  it('Salesforce: when the context query fails, the card still gets the matches', async () => {
    await lookups.invalidate('sales', us('5551234567'));
    sf.inject({ method: 'GET', pathIncludes: '/query', status: 500, body: [{ message: 'An unexpected error occurred', errorCode: 'UNKNOWN_EXCEPTION' }] });
    const { matches } = await lookups.lookup('sales', us('5551234567'));
    expect(matches).toEqual([expect.objectContaining({ id: ids.contact, displayName: 'Jane Roe', ownerName: 'Ann Agent' })]);
    expect(matches[0].context).toBeUndefined();
    expect(t.logs.some((l) => l.event === 'crm.lookup_context_failed')).toBe(true);
  });

  it("HubSpot: the best match's open deals in one deals search (associations.contact, not closed); a repeat lookup costs no request", async () => {
    let result!: Awaited<ReturnType<LookupService['lookup']>>;
    const first = await requestsDuring(hs, async () => (result = await lookups.lookup('hub', us('+15553334444'))));
    expect(first.map((r) => r.path)).toEqual(['/crm/v3/objects/contacts/search', '/crm/v3/objects/deals/search']);
    expect(result.matches[0]).toMatchObject({
      recordType: 'contact',
      id: ids.hsContact,
      ownerId: '77',
      lastActivityAt: '2026-11-21T09:00:00.000Z',
      matchedOn: { object: 'contact', field: 'phone' },
      context: [{ kind: 'deals', label: 'Open deals', count: 4, items: [4, 3, 2].map((i) => ({ name: `Deal ${i}`, url: `https://app.hubspot.com/contacts/4242/record/0-3/${ids[`deal${i}`]}` })) }],
    });
    await eventually(async () => ((await t.redis.exists(lookups.key('hub', us('+15553334444')))) ? true : undefined), 5000, 'the cache entry');
    expect(await requestsDuring(hs, () => lookups.lookup('hub', us('0015553334444')))).toEqual([]);
  });

  it('HubSpot: a deals search slower than what is left of lookupTimeoutMs is dropped, and the lookup still answers with the match', async () => {
    await lookups.invalidate('hub', us('+15553334444'));
    hs.inject({ method: 'POST', pathIncludes: '/deals/search', delayMs: 9000, slowOnly: true });
    const { matches } = await lookups.lookup('hub', us('+15553334444'));
    expect(matches).toEqual([expect.objectContaining({ id: ids.hsContact, displayName: 'Hal Hub' })]);
    expect(matches[0].context).toBeUndefined();
    // The lookup answered at its own time-out (lookupTimeoutMs, 8000 by default): HubSpot had not answered yet.
    expect(hs.requests.filter((r) => r.path.endsWith('/deals/search')).at(-1)!.status).toBeUndefined();
  });

  it('a search slower than the pop budget: the card shows "pending" first, then fills in with the match when Salesforce answers (2.5 s)', async () => {
    sf.inject({ method: 'GET', pathIncludes: '/search', delayMs: 2500, slowOnly: true });
    const callId = newCallId();
    await sendEvent(t.url, 'dial-in', { CallID: callId, CallerIDNum: '0015557778888', CalledExtension: '0003*210', CallFlow: 'IN', CallStatus: 'CALLING' });
    const done = await eventually(() => updates.find((u) => u.record.callId === callId && u.lookup?.status !== 'pending'), 15_000, 'the final card');
    const statuses = updates.filter((u) => u.record.callId === callId).map((u) => u.lookup?.status);
    expect(statuses).toEqual(['pending', 'done']);
    expect(done.lookup).toMatchObject({ status: 'done', connection: 'sales', matches: [{ id: ids.slow, displayName: 'Sam Slow', matchedOn: { object: 'Contact', field: 'Phone' } }] });
  });
});
