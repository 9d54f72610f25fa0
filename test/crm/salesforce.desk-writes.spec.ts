import { CrmMatch, CrmProvider } from '../../src/crm/crm-provider';
import { salesforceProvider } from '../../src/crm/salesforce';
import { FakeSalesforce, startFakeSalesforce } from '../fakes/fake-salesforce';
import { answeredCall } from '../support/call-records';
import { useProviderRedis } from '../support/crm-provider-fixture';

/**
 * What the agent's desk writes to Salesforce, through real jsforce against the fake org:
 * dispositions on the call Task, updates of a logged Task, follow-up Tasks for missed calls, and
 * one Lead per new number however many calls create it at once.
 */
describe('Salesforce desk writes (real jsforce against the fake Salesforce)', () => {
  let sf: FakeSalesforce;
  const store = useProviderRedis('tsfw', { prefixPerTest: true });
  const secrets: Record<string, string> = { SF_SECRET: 'secret-1', SF_REFRESH: '5Aep861-refresh-1' };
  const make = (settings: Record<string, unknown> = {}): CrmProvider =>
    salesforceProvider.create(
      'sf',
      salesforceProvider.settings.parse({
        type: 'salesforce',
        loginUrl: sf.url,
        auth: { flow: 'refresh-token', clientId: 'client-1', clientSecretEnv: 'SF_SECRET', refreshTokenEnv: 'SF_REFRESH' },
        ...settings,
      }),
      store.deps('sf', { secret: (n) => secrets[n] }),
    );
  const match = (recordType: string, id: string): CrmMatch => ({ connection: 'sf', recordType, id, displayName: `${recordType} ${id}` });
  let ann: string;
  let jane: string;
  let acme: string;
  let lead: string;

  beforeEach(async () => {
    sf = await startFakeSalesforce();
    ann = sf.add('User', { Name: 'Ann Agent', Email: 'ann@example.com', IsActive: true });
    acme = sf.add('Account', { Name: 'Acme', Phone: '(555) 123-0000' });
    jane = sf.add('Contact', { Name: 'Jane Roe', AccountId: acme, Phone: '(555) 123-4567' });
    lead = sf.add('Lead', { Name: 'Lee Lead', Company: 'Initech', Phone: '(555) 777-0000', IsConverted: false });
  });
  afterEach(() => sf.close());

  it('offers Connected, Left voicemail, No answer, Busy, Wrong number and Follow-up needed, each stored as its own text', () => {
    expect(salesforceProvider.defaultDispositions).toEqual([
      { key: 'connected', label: 'Connected', value: 'Connected' },
      { key: 'left-voicemail', label: 'Left voicemail', value: 'Left voicemail' },
      { key: 'no-answer', label: 'No answer', value: 'No answer' },
      { key: 'busy', label: 'Busy', value: 'Busy' },
      { key: 'wrong-number', label: 'Wrong number', value: 'Wrong number' },
      { key: 'follow-up-needed', label: 'Follow-up needed', value: 'Follow-up needed' },
    ]);
    expect(salesforceProvider.capabilities).toMatchObject({ updateCall: true, createTask: true, createContact: true });
  });

  it("the agent's disposition lands in CallDisposition, one call at a time and in a batch; without one the outcome does", async () => {
    const p = make();
    await p.logCall({ key: 'k-one', record: answeredCall(), match: match('Contact', jane), subject: 's', description: 'd', disposition: 'Left voicemail' });
    const batch = await p.logCalls!([
      { key: 'k-two', record: answeredCall({ callId: 'call-2' }), match: match('Contact', jane), subject: 's', description: 'd', disposition: 'Wrong number' },
      { key: 'k-three', record: answeredCall({ callId: 'call-3', outcome: 'missed', talkSeconds: undefined }), subject: 's', description: 'd' },
    ]);
    expect(batch.every((r) => 'created' in r && r.created)).toBe(true);
    const byKey = Object.fromEntries(sf.tasks().map((t) => [t.CallObject, t.CallDisposition]));
    expect(byKey).toEqual({ 'k-one': 'Left voicemail', 'k-two': 'Wrong number', 'k-three': 'No answer' });
  });

  it('updates a logged Task: subject, notes and disposition, and moves it from the Contact to the Account (WhoId emptied)', async () => {
    const p = make();
    const { id } = await p.logCall({
      key: 'k-upd',
      record: answeredCall(),
      match: match('Contact', jane),
      ownerId: ann,
      subject: 'Inbound call from Jane Roe',
      description: 'Talk time: 60 s',
      disposition: 'Connected',
    });
    await p.updateCall!(id, { subject: 'Inbound call from Acme', description: 'Wants a quote\n\nTalk time: 60 s', disposition: 'Follow-up needed', match: match('Account', acme) });
    const [task] = sf.tasks();
    expect(task).toMatchObject({
      Id: id,
      Subject: 'Inbound call from Acme',
      Description: 'Wants a quote\n\nTalk time: 60 s',
      CallDisposition: 'Follow-up needed',
      WhatId: acme,
      OwnerId: ann,
      TaskSubtype: 'Call',
      Status: 'Completed',
    });
    expect(task.WhoId).toBeUndefined();
    const patch = sf.requests.find((r) => r.method === 'PATCH')!;
    expect(patch.path).toMatch(new RegExp(`^/services/data/v62\\.0/sobjects/Task/${id}$`));

    await p.updateCall!(id, { match: match('Lead', lead) });
    expect(sf.tasks()[0]).toMatchObject({ WhoId: lead, Subject: 'Inbound call from Acme' });
    expect(sf.tasks()[0].WhatId).toBeUndefined();
  });

  it('the same update applied twice leaves the Task as one application did', async () => {
    const p = make();
    const { id } = await p.logCall({ key: 'k-twice', record: answeredCall(), subject: 's', description: 'd' });
    const patch = { description: 'Call back Monday', disposition: 'Busy', match: match('Contact', jane) };
    await p.updateCall!(id, patch);
    const { LastModifiedDate: _a, ...once } = sf.tasks()[0];
    await p.updateCall!(id, patch);
    const { LastModifiedDate: _b, ...twice } = sf.tasks()[0];
    expect(twice).toEqual(once);
    expect(sf.tasks()).toHaveLength(1);
  });

  it('an update Salesforce refuses fails as permanent with its reason: a deleted Task, a record that is not there', async () => {
    const p = make();
    await expect(p.updateCall!('00T5g00000NOPE1AAA', { subject: 'x' })).rejects.toMatchObject({ kind: 'permanent', message: expect.stringContaining('NOT_FOUND') });
    const { id } = await p.logCall({ key: 'k-bad', record: answeredCall(), subject: 's', description: 'd' });
    await expect(p.updateCall!(id, { match: match('Contact', '0035g00000GONE1AAA') })).rejects.toMatchObject({ kind: 'permanent', message: expect.stringContaining('WhoId') });
    await expect(p.updateCall!(id, { match: match('Opportunity', '0065g0000000001AAA') })).rejects.toMatchObject({ kind: 'permanent' });
  });

  it('creates one open follow-up Task for a missed call, due that day, even when the first answer was lost', async () => {
    const p = make();
    const input = {
      key: 'k-miss~follow-up',
      subject: 'Call back Jane Roe (missed call)',
      description: 'Missed inbound call from +15551234567',
      match: match('Contact', jane),
      ownerId: ann,
      dueAt: Date.parse('2026-11-24T22:30:00Z'),
    };
    sf.inject({ method: 'POST', pathIncludes: '/sobjects/Task', afterCommit: true, drop: true });
    await expect(p.createTask!(input)).rejects.toMatchObject({ kind: 'retryable' });
    const retried = await p.createTask!(input);
    expect(retried).toMatchObject({ id: sf.tasks()[0].Id, created: false, url: expect.stringContaining(`/lightning/r/Task/${sf.tasks()[0].Id}/view`) });
    expect(sf.tasks()).toHaveLength(1);
    expect(sf.tasks()[0]).toMatchObject({
      TaskSubtype: 'Task',
      Status: 'Not Started',
      ActivityDate: '2026-11-24',
      Subject: input.subject,
      Description: input.description,
      OwnerId: ann,
      WhoId: jane,
      CallObject: input.key,
    });
  });

  it('a follow-up for an Account goes in WhatId, and the key in a custom key field when one is configured', async () => {
    await sf.close();
    sf = await startFakeSalesforce({ customTaskFields: ['VoipNow_Call_Key__c'] });
    const account = sf.add('Account', { Name: 'Acme' });
    const p = make({ callKeyField: 'VoipNow_Call_Key__c' });
    const input = { key: 'k-acct~follow-up', subject: 'Call back Acme', description: 'd', match: match('Account', account), dueAt: Date.parse('2026-11-24T10:00:00Z') };
    const first = await p.createTask!(input);
    expect(first.created).toBe(true);
    await expect(p.createTask!(input)).resolves.toMatchObject({ id: first.id, created: false });
    expect(sf.tasks()).toEqual([expect.objectContaining({ WhatId: account, VoipNow_Call_Key__c: 'k-acct~follow-up' })]);
    expect(sf.tasks()[0].CallObject).toBeUndefined();
  });

  it('two calls from the same new number creating a contact at the same moment (two workers) get one Lead', async () => {
    const a = make();
    const b = make();
    const [x, y] = await Promise.all([
      a.createContact!({ key: 'k-call-a', number: '+15559990000', name: 'NEW CALLER' }),
      b.createContact!({ key: 'k-call-b', number: '+15559990000', name: 'NEW CALLER' }),
    ]);
    expect(x.id).toBe(y.id);
    expect(sf.objects.filter((o) => o.type === 'Lead' && o.Phone === '+15559990000')).toHaveLength(1);
  });
});
