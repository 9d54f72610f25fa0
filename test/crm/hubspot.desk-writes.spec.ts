import pino from 'pino';
import { CrmMatch, CrmProvider } from '../../src/crm/crm-provider';
import { hubspotProvider } from '../../src/crm/hubspot';
import { FakeHubSpot, FakeHubSpotOptions, startFakeHubSpot } from '../fakes/fake-hubspot';
import { answeredCall } from '../support/call-records';
import { useProviderRedis } from '../support/crm-provider-fixture';

const CONNECTED = 'f240bbac-87c9-4f6e-bf70-924b57d47db7';
const LEFT_VOICEMAIL = 'b2cf5968-551e-4856-9783-52b3da59a7d0';
const NO_ANSWER = '73a0d17f-1163-4015-bdd5-ec830791da20';
const WRONG_NUMBER = '17b47fee-58de-441e-a44c-c6300d46f273';

/**
 * What the agent's desk writes to HubSpot, through the real @hubspot/api-client against the fake
 * portal: call outcomes, updates of a logged call (properties, and the contact it hangs off),
 * follow-up tasks, and the marketing status of contacts created for unknown callers.
 */
describe('HubSpot desk writes (real @hubspot/api-client against the fake HubSpot)', () => {
  let hs: FakeHubSpot;
  let warnings: { event?: string; msg: string }[];
  const store = useProviderRedis('thsw');
  const make = (settings: Record<string, unknown> = {}): CrmProvider =>
    hubspotProvider.create(
      'hs',
      hubspotProvider.settings.parse({ type: 'hubspot', basePath: hs.url, auth: { flow: 'private-app', tokenEnv: 'HS_TOKEN' }, portalId: 4242, uiDomain: 'app.hubspot.com', ...settings }),
      store.deps('hs', { secret: () => 'pat-test-token', logger: pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) }) }),
    );
  const contact = (id: string): CrmMatch => ({ connection: 'hs', recordType: 'contact', id, displayName: `Contact ${id}`, url: `https://app.hubspot.com/contacts/4242/record/0-1/${id}` });
  const start = async (opts: FakeHubSpotOptions = {}) => {
    hs = await startFakeHubSpot(opts);
    hs.addOwner({ id: '77', email: 'ann@example.com' });
  };
  const associatedContacts = (callId: string) => (hs.calls().find((c) => c.id === callId)?.associations ?? []).map((a) => a.to.id);

  beforeEach(async () => {
    warnings = [];
    await start();
  });
  afterEach(() => hs.close());

  it("offers HubSpot's six default call outcomes, each stored as its outcome id", () => {
    expect(hubspotProvider.defaultDispositions?.map((d) => [d.label, d.value])).toEqual([
      ['Connected', CONNECTED],
      ['Left voicemail', LEFT_VOICEMAIL],
      ['Left live message', 'a4c4c377-d246-4b32-a13b-75a56a4cd0ff'],
      ['No answer', NO_ANSWER],
      ['Busy', '9d9162e7-6cf3-4944-bf63-4dff82258764'],
      ['Wrong number', WRONG_NUMBER],
    ]);
    expect(hubspotProvider.capabilities).toMatchObject({ updateCall: true, createTask: true, createContact: true });
  });

  it("the agent's outcome lands in hs_call_disposition, one call at a time and in a batch; without one the call's own outcome does", async () => {
    const jane = hs.addContact({ firstname: 'Jane', phone: '(555) 123-4567' });
    const p = make();
    await p.logCall({ key: 'k-one', record: answeredCall(), match: contact(jane), subject: 's', description: 'd', disposition: LEFT_VOICEMAIL });
    await p.logCalls!([
      { key: 'k-two', record: answeredCall({ callId: 'call-2' }), match: contact(jane), subject: 's', description: 'd', disposition: WRONG_NUMBER },
      { key: 'k-three', record: answeredCall({ callId: 'call-3', outcome: 'missed', talkSeconds: undefined }), subject: 's', description: 'd' },
    ]);
    const byKey = Object.fromEntries(hs.calls().map((c) => [c.properties.voipnow_call_key, c.properties.hs_call_disposition]));
    expect(byKey).toEqual({ 'k-one': LEFT_VOICEMAIL, 'k-two': WRONG_NUMBER, 'k-three': NO_ANSWER });
  });

  it('updates a logged call: title, notes and outcome, and moves it from one contact to another', async () => {
    const jane = hs.addContact({ firstname: 'Jane', phone: '(555) 123-4567' });
    const john = hs.addContact({ firstname: 'John', phone: '(555) 123-4567' });
    const p = make();
    const { id } = await p.logCall({
      key: 'k-upd',
      record: answeredCall(),
      match: contact(jane),
      ownerId: '77',
      subject: 'Inbound call from Jane',
      description: 'Talk time: 60 s',
      disposition: CONNECTED,
    });
    await p.updateCall!(id, { subject: 'Inbound call from John', description: 'Wants a quote\n\nTalk time: 60 s', disposition: LEFT_VOICEMAIL, match: contact(john) });
    expect(hs.calls()[0].properties).toMatchObject({
      hs_call_title: 'Inbound call from John',
      hs_call_body: 'Wants a quote\n\nTalk time: 60 s',
      hs_call_disposition: LEFT_VOICEMAIL,
      hubspot_owner_id: '77',
      hs_call_direction: 'INBOUND',
    });
    expect(associatedContacts(id)).toEqual([john]);
    expect(hs.calls()[0].associations![0].types).toEqual([{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 194 }]);
    expect(hs.requests.filter((r) => r.path.startsWith('/crm/v4/')).map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /crm/v4/objects/calls/${id}/associations/contacts`,
      `PUT /crm/v4/objects/calls/${id}/associations/contacts/${john}`,
      `DELETE /crm/v4/objects/calls/${id}/associations/contacts/${jane}`,
    ]);
  });

  it('the same update applied twice leaves the call as one application did, with nothing left to move', async () => {
    const jane = hs.addContact({ firstname: 'Jane' });
    const john = hs.addContact({ firstname: 'John' });
    const p = make();
    const { id } = await p.logCall({ key: 'k-twice', record: answeredCall(), match: contact(jane), subject: 's', description: 'd' });
    const patch = { description: 'Call back Monday', disposition: CONNECTED, match: contact(john) };
    await p.updateCall!(id, patch);
    const { updatedAt: _a, ...once } = structuredClone(hs.calls()[0]);
    const writesBefore = hs.requests.filter((r) => r.method === 'PUT' || r.method === 'DELETE').length;
    await p.updateCall!(id, patch);
    const { updatedAt: _b, ...twice } = hs.calls()[0];
    expect(twice).toEqual(once);
    expect(hs.requests.filter((r) => r.method === 'PUT' || r.method === 'DELETE')).toHaveLength(writesBefore);
  });

  it('a move whose answer was lost halfway is finished by the retry: the call ends on the new contact alone', async () => {
    const jane = hs.addContact({ firstname: 'Jane' });
    const john = hs.addContact({ firstname: 'John' });
    const p = make();
    const { id } = await p.logCall({ key: 'k-lost', record: answeredCall(), match: contact(jane), subject: 's', description: 'd' });
    hs.inject({ method: 'PUT', pathIncludes: '/associations/contacts/', afterCommit: true, drop: true });
    await expect(p.updateCall!(id, { match: contact(john) })).rejects.toMatchObject({ kind: 'retryable' });
    expect(associatedContacts(id).sort()).toEqual([jane, john].sort());
    await p.updateCall!(id, { match: contact(john) });
    expect(associatedContacts(id)).toEqual([john]);
  });

  it('an update of a call HubSpot does not have fails as permanent; a deal cannot take a call', async () => {
    const p = make();
    await expect(p.updateCall!('999999', { subject: 'x' })).rejects.toMatchObject({ kind: 'permanent', message: expect.stringContaining('404') });
    const { id } = await p.logCall({ key: 'k-deal', record: answeredCall(), subject: 's', description: 'd' });
    await expect(p.updateCall!(id, { match: { connection: 'hs', recordType: 'deal', id: '5', displayName: 'Big deal' } })).rejects.toMatchObject({ kind: 'permanent' });
  });

  it('creates one follow-up task for a missed call, attached to the contact, even when the first answer was lost', async () => {
    const jane = hs.addContact({ firstname: 'Jane' });
    const p = make();
    const dueAt = Date.parse('2026-11-24T10:00:00Z');
    const input = { key: 'k-miss~follow-up', subject: 'Call back Jane (missed call)', description: 'Missed inbound call', match: contact(jane), ownerId: '77', dueAt };
    hs.inject({ method: 'POST', match: (r) => r.method === 'POST' && r.path === '/crm/v3/objects/tasks', afterCommit: true, drop: true });
    await expect(p.createTask!(input)).rejects.toMatchObject({ kind: 'retryable' });
    const retried = await p.createTask!(input);
    expect(hs.tasks()).toHaveLength(1);
    const [task] = hs.tasks();
    expect(retried).toEqual({ id: task.id, url: contact(jane).url, created: false });
    expect(task.properties).toMatchObject({
      hs_task_subject: input.subject,
      hs_task_body: input.description,
      hs_task_status: 'NOT_STARTED',
      hs_task_type: 'CALL',
      hs_timestamp: '2026-11-24T10:00:00.000Z',
      hubspot_owner_id: '77',
      voipnow_followup_key: input.key,
    });
    expect(task.associations).toEqual([{ to: { id: jane }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 204 }] }]);
    expect(hs.propertyDefs.tasks.get('voipnow_followup_key')).toBe(true);
  });

  it('where the portal refuses a unique task property, the key property is created plain and a retry finds the task by search', async () => {
    await hs.close();
    await start({ uniqueRefusedOn: ['tasks'] });
    const p = make();
    const input = { key: 'k-plain~follow-up', subject: 'Call back', description: 'd', dueAt: Date.parse('2026-11-24T10:00:00Z') };
    const first = await p.createTask!(input);
    await expect(p.createTask!(input)).resolves.toMatchObject({ id: first.id, created: false });
    expect(hs.tasks()).toHaveLength(1);
    expect(hs.propertyDefs.tasks.get('voipnow_followup_key')).toBe(false);
    expect(warnings).toContainEqual(expect.objectContaining({ event: 'crm.key_property_not_unique', msg: expect.stringContaining('refused a unique property on tasks') }));
  });

  it('a contact created for an unknown caller stays non-marketing by default, and the connector never tries to write its status', async () => {
    const p = make();
    await p.createContact!({ key: 'k-new', number: '+15559990000', name: 'NEW CALLER' });
    expect(hs.contacts[0].properties.hs_marketable_status).toBe('false');
    expect(hs.requests.some((r) => JSON.stringify(r.body ?? '').includes('hs_marketable_status') && r.method !== 'GET')).toBe(false);
    expect(warnings).toEqual([]);
  });

  it("when the portal makes this app's contacts marketing contacts against the setting, one warning says where to switch it off", async () => {
    await hs.close();
    await start({ marketingContactsFromApps: true });
    const p = make();
    await p.createContact!({ key: 'k-a', number: '+15559990001' });
    await p.createContact!({ key: 'k-b', number: '+15559990002' });
    expect(warnings.filter((w) => w.event === 'crm.marketing_status_mismatch')).toEqual([expect.objectContaining({ msg: expect.stringContaining('Settings → Integrations → Marketing contacts') })]);
    warnings = [];
    await make({ createdContactsMarketing: true }).createContact!({ key: 'k-c', number: '+15559990003' });
    expect(warnings).toEqual([]);
  });

  it('two calls from the same new number creating a contact at the same moment (two workers) get one contact', async () => {
    const a = make();
    const b = make();
    const [x, y] = await Promise.all([a.createContact!({ key: 'k-call-a', number: '+15559990000' }), b.createContact!({ key: 'k-call-b', number: '+15559990000' })]);
    expect(x.id).toBe(y.id);
    expect(hs.contacts.filter((c) => c.properties.phone === '+15559990000')).toHaveLength(1);
  });
});
