import pino from 'pino';
import { Writable } from 'node:stream';
import { CallRecord } from '../../src/calls/call-record';
import { CallLogInput, CrmError, CrmProvider, LoggedActivity } from '../../src/crm/crm-provider';
import { hubspotProvider } from '../../src/crm/hubspot';
import { conflictHolder } from '../../src/crm/hubspot/hubspot-keyed-objects';
import { phoneQuery } from '../../src/crm/phone';
import { FakeHubSpot, FakeHubSpotOptions, startFakeHubSpot } from '../fakes/fake-hubspot';
import { FakeRequest } from '../fakes/fake-server';
import { answeredCall } from '../support/call-records';
import { useProviderRedis } from '../support/crm-provider-fixture';

const record = (over: Partial<CallRecord> = {}): CallRecord => answeredCall({ answeredAt: undefined, ringSeconds: undefined, talkSeconds: undefined, outcome: 'missed', ...over });
const input = (key: string, mayExist?: boolean): CallLogInput => ({ key, record: record(), subject: 's', description: 'd', mayExist });
/** HubSpot indexes new objects for search after a few seconds; longer than any test here takes. */
const LAG = { searchLagMs: 60_000 };

/**
 * Exactly-once call logging and contact creation that does not rely on HubSpot's search being
 * fresh: the fake makes new objects searchable only after a lag and enforces unique properties
 * with HubSpot's own refusal.
 */
describe('HubSpot exactly once, search lag or not', () => {
  let hs: FakeHubSpot;
  let logLines: string[];
  const store = useProviderRedis('thx');
  const make = (settings: Record<string, unknown> = {}): CrmProvider =>
    hubspotProvider.create(
      'hs',
      hubspotProvider.settings.parse({ type: 'hubspot', basePath: hs.url, auth: { flow: 'private-app', tokenEnv: 'HS_TOKEN' }, ...settings }),
      store.deps('hs', {
        secret: () => 'pat-test-token',
        logger: pino(
          { level: 'info' },
          new Writable({
            write: (chunk, _enc, done) => {
              logLines.push(String(chunk));
              done();
            },
          }),
        ),
      }),
    );
  const start = async (opts: FakeHubSpotOptions = {}) => {
    hs = await startFakeHubSpot(opts);
    hs.addOwner({ id: '77', email: 'ann@example.com' });
  };
  const callSearches = () => hs.count('POST', '/crm/v3/objects/calls/search');
  const creates = (r: FakeRequest) => r.method === 'POST' && (r.path === '/crm/v3/objects/calls' || r.path === '/crm/v3/objects/calls/batch/create');
  const callsWithKey = (key: string) => hs.calls().filter((c) => c.properties.voipnow_call_key === key);

  beforeEach(() => {
    logLines = [];
  });
  afterEach(() => hs.close());

  it('creates the call key property unique, so HubSpot itself can refuse a second call with the same key', async () => {
    await start();
    await make().logCall(input('k-prop', false));
    const created = hs.requests.find((r) => r.method === 'POST' && r.path === '/crm/v3/properties/calls')!;
    expect(created.body).toMatchObject({ name: 'voipnow_call_key', hasUniqueValue: true, type: 'string', fieldType: 'text' });
    expect(hs.propertyDefs.calls.get('voipnow_call_key')).toBe(true);
  });

  it('a retry just after a lost create answer, while search does not see the call yet, still gives one call: read by its key', async () => {
    await start(LAG);
    const p = make();
    hs.inject({ match: creates, afterCommit: true, drop: true });
    await expect(p.logCall(input('k-lost', false))).rejects.toMatchObject({ kind: 'retryable' });
    expect(callsWithKey('k-lost')).toHaveLength(1);
    const retried = await p.logCall(input('k-lost'));
    expect(retried).toEqual({ id: callsWithKey('k-lost')[0].id, created: false });
    expect(callsWithKey('k-lost')).toHaveLength(1);
    // Read by the unique property, not searched (which would have missed it).
    expect(hs.requests.some((r) => r.method === 'POST' && r.path === '/crm/v3/objects/calls/batch/read' && r.body.idProperty === 'voipnow_call_key')).toBe(true);
    expect(callSearches()).toBe(0);
  });

  it('a first attempt whose key HubSpot already holds (another worker won the race) gets that call back, created: false', async () => {
    await start(LAG);
    hs.addProperty('calls', 'voipnow_call_key', { unique: true });
    const existing = hs.addCall({ voipnow_call_key: 'k-race' });
    const p = make();
    expect(await p.logCall(input('k-race', false))).toEqual({ id: existing, created: false });
    expect(callsWithKey('k-race')).toHaveLength(1);
    // One create, refused by HubSpot: no search, no read.
    expect(hs.requests.filter(creates)).toHaveLength(1);
    expect(hs.requests.filter(creates)[0].status).toBe(400);
  });

  it('a retried batch inside the search lag: one read by key finds the call created before, one batch create makes the rest', async () => {
    await start(LAG);
    const p = make();
    hs.inject({ match: creates, afterCommit: true, drop: true });
    await expect(p.logCall(input('b-1', false))).rejects.toMatchObject({ kind: 'retryable' });
    const before = hs.requests.length;
    const results = (await p.logCalls!(['b-1', 'b-2', 'b-3'].map((k) => input(k)))) as LoggedActivity[];
    expect(results.map((r) => r.created)).toEqual([false, true, true]);
    expect(['b-1', 'b-2', 'b-3'].map((k) => callsWithKey(k).length)).toEqual([1, 1, 1]);
    expect(results[0].id).toBe(callsWithKey('b-1')[0].id);
    expect(hs.requests.slice(before).map((r) => r.path)).toEqual(['/crm/v3/objects/calls/batch/read', '/crm/v3/objects/calls/batch/create']);
  });

  it('a batch HubSpot refuses because one key was taken meanwhile: each call created alone, the taken one comes back as the existing call', async () => {
    await start(LAG);
    hs.addProperty('calls', 'voipnow_call_key', { unique: true });
    const existing = hs.addCall({ voipnow_call_key: 't-2' });
    const results = (await make().logCalls!(['t-1', 't-2', 't-3'].map((k) => input(k, false)))) as LoggedActivity[];
    expect(results).toEqual([expect.objectContaining({ created: true }), { id: existing, created: false }, expect.objectContaining({ created: true })]);
    expect(['t-1', 't-2', 't-3'].map((k) => callsWithKey(k).length)).toEqual([1, 1, 1]);
    expect(callSearches()).toBe(0);
  });

  it('a bad owner in a refused batch still fails alone, as a permanent error', async () => {
    await start();
    const bad = { ...input('o-2', false), ownerId: '999' };
    const results = await make().logCalls!([input('o-1', false), bad, input('o-3', false)]);
    expect(results[1]).toBeInstanceOf(CrmError);
    expect(results[1]).toMatchObject({ kind: 'permanent' });
    expect([results[0], results[2]]).toEqual([expect.objectContaining({ created: true }), expect.objectContaining({ created: true })]);
  });

  it('a portal whose key property was created non-unique keeps working through search, and a warning says how to fix it', async () => {
    await start();
    hs.addProperty('calls', 'voipnow_call_key', { unique: false });
    const p = make();
    hs.inject({ match: creates, afterCommit: true, drop: true });
    await expect(p.logCall(input('k-legacy', false))).rejects.toMatchObject({ kind: 'retryable' });
    expect(await p.logCall(input('k-legacy'))).toMatchObject({ created: false });
    expect(callsWithKey('k-legacy')).toHaveLength(1);
    expect(callSearches()).toBe(1);
    expect(hs.requests.some((r) => r.method === 'POST' && r.path === '/crm/v3/properties/calls')).toBe(false);
    expect(logLines.join('')).toContain('"event":"crm.key_property_not_unique"');
    expect(logLines.join('')).toMatch(/Name a new property in the connection's settings/);
  });

  it("reads the holder of a unique value from HubSpot's refusal, only for the property asked about", () => {
    const err = new CrmError(
      'permanent',
      'HubSpot 400: Cannot set PropertyValueCoordinates{portalId=4242, objectTypeId=0-48, propertyName=voipnow_call_key, value=vn-1-0003~2A210} on 1020. 1007 already has that value.',
      { status: 400, code: 'VALIDATION_ERROR' },
    );
    expect(conflictHolder(err, 'voipnow_call_key')).toEqual({ value: 'vn-1-0003~2A210', existingId: '1007' });
    expect(conflictHolder(err, 'other_key')).toBeUndefined();
    expect(conflictHolder(new CrmError('permanent', 'HubSpot 400: Property values were not valid', { status: 400 }), 'voipnow_call_key')).toBeUndefined();
  });

  describe('createContact', () => {
    const number = '+15557654321';

    it('creates one contact with the number, the caller ID name and the owner, findable by the next lookup', async () => {
      await start();
      const p = make();
      const match = await p.createContact!({ key: 'vn-c1-0003~2A210', number, name: 'J ROE', ownerId: '77' });
      expect(hs.contacts).toHaveLength(1);
      expect(hs.contacts[0].properties).toMatchObject({ phone: number, lastname: 'J ROE', hubspot_owner_id: '77', voipnow_caller_number: number });
      expect(match).toMatchObject({
        connection: 'hs',
        recordType: 'contact',
        id: hs.contacts[0].id,
        displayName: 'J ROE',
        phone: number,
        ownerId: '77',
        url: `https://app.hubspot.com/contacts/4242/record/0-1/${hs.contacts[0].id}`,
      });
      expect(hs.propertyDefs.contacts.get('voipnow_caller_number')).toBe(true);
      expect((await p.findContactsByPhone(phoneQuery('0015557654321', 'US')!)).map((m) => m.id)).toEqual([match.id]);
    });

    it('a retry after a lost answer, and another call from the same number, inside the search lag: still one contact', async () => {
      await start(LAG);
      const p = make();
      hs.inject({ method: 'POST', pathIncludes: '/crm/v3/objects/contacts', afterCommit: true, drop: true });
      await expect(p.createContact!({ key: 'vn-c2-0003~2A210', number })).rejects.toMatchObject({ kind: 'retryable' });
      const again = await p.createContact!({ key: 'vn-c2-0003~2A210', number });
      const other = await make().createContact!({ key: 'vn-c3-0003~2A211', number, name: 'J ROE' });
      expect(hs.contacts).toHaveLength(1);
      expect([again.id, other.id]).toEqual([hs.contacts[0].id, hs.contacts[0].id]);
    });

    it('an unknown owner is a permanent failure, and nothing is created', async () => {
      await start();
      await expect(make().createContact!({ key: 'k', number, ownerId: '999' })).rejects.toMatchObject({ kind: 'permanent' });
      expect(hs.contacts).toHaveLength(0);
    });
  });
});
