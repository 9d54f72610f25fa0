import { CrmError, CrmProvider } from '../../src/crm/crm-provider';
import { phoneQuery } from '../../src/crm/phone';
import { RequestBudgetHandle } from '../../src/crm/request-budget';
import { salesforceProvider } from '../../src/crm/salesforce';
import { FakeSalesforce, FakeSalesforceOptions, startFakeSalesforce } from '../fakes/fake-salesforce';
import { answeredCall } from '../support/call-records';
import { useProviderRedis } from '../support/crm-provider-fixture';

const record = answeredCall;

describe('Salesforce provider (real jsforce against the fake Salesforce)', () => {
  let sf: FakeSalesforce;
  const store = useProviderRedis('tsf', { prefixPerTest: true });
  let secrets: Record<string, string>;
  const refreshAuth = { flow: 'refresh-token', clientId: 'client-1', clientSecretEnv: 'SF_SECRET', refreshTokenEnv: 'SF_REFRESH' };
  const make = (settings: Record<string, unknown> = {}, budget?: RequestBudgetHandle): CrmProvider =>
    salesforceProvider.create(
      'sf',
      salesforceProvider.settings.parse({ type: 'salesforce', loginUrl: sf.url, auth: refreshAuth, ...settings }),
      store.deps('sf', { budget, secret: (n) => secrets[n] }),
    );
  const start = async (opts: FakeSalesforceOptions = {}) => {
    sf = await startFakeSalesforce(opts);
  };
  const query = phoneQuery('0015551234567', 'US')!;
  let ann: string;

  beforeEach(async () => {
    secrets = { SF_SECRET: 'secret-1', SF_REFRESH: '5Aep861-refresh-1' };
    await start();
    ann = sf.add('User', { Name: 'Ann Agent', Email: "ann.o'neil@example.com", IsActive: true });
  });
  afterEach(() => sf.close());

  it('finds the contact stored as (555) 123-4567 when VoipNow sends 0015551234567 or +15551234567, with its Lightning URL', async () => {
    const acct = sf.add('Account', { Name: 'Acme' });
    const id = sf.add('Contact', { Name: 'Jane Roe', AccountId: acct, Title: 'CTO', Email: 'jane@acme.example', Phone: '(555) 123-4567', OwnerId: ann });
    sf.add('Contact', { Name: 'Other Person', Phone: '(555) 999-0000' });
    const p = make();
    for (const q of [query, phoneQuery('+15551234567', 'US')!]) {
      expect(await p.findContactsByPhone(q)).toEqual([
        expect.objectContaining({
          connection: 'sf',
          recordType: 'Contact',
          id,
          displayName: 'Jane Roe',
          company: 'Acme',
          title: 'CTO',
          phone: '(555) 123-4567',
          ownerId: ann,
          ownerName: 'Ann Agent',
          url: `${sf.url}/lightning/r/Contact/${id}/view`,
        }),
      ]);
    }
    // The configured API version, not jsforce's 50.0; the E.164 form's "+" reached Salesforce escaped.
    expect(new Set(sf.versions)).toEqual(new Set(['62.0']));
    expect(sf.requests.find((r) => r.path.endsWith('/search'))!.query.get('q')).toContain('\\+15551234567');
  });

  it('ranks Contact before Lead before Account, most recently active first, and leaves converted leads out', async () => {
    const account = sf.add('Account', { Name: 'Acme', Phone: '555-123-4567', LastActivityDate: '2026-11-23' });
    const lead = sf.add('Lead', { Name: 'Lee Lead', Company: 'Leads Inc', MobilePhone: '+1 555 123 4567', LastActivityDate: '2026-11-22' });
    sf.add('Lead', { Name: 'Converted', Phone: '5551234567', IsConverted: true });
    const older = sf.add('Contact', { Name: 'Old Contact', Phone: '5551234567', LastActivityDate: '2025-01-01' });
    const newer = sf.add('Contact', { Name: 'New Contact', Phone: '555.123.4567', LastActivityDate: '2026-10-01' });
    const matches = await make().findContactsByPhone(query);
    expect(matches.map((m) => [m.recordType, m.id])).toEqual([
      ['Contact', newer],
      ['Contact', older],
      ['Lead', lead],
      ['Account', account],
    ]);
    expect(matches[2].company).toBe('Leads Inc');
  });

  it('logs an answered inbound call once: a completed call Task with owner, WhoId and the key in CallObject', async () => {
    const contact = sf.add('Contact', { Name: 'Jane Roe', Phone: '(555) 123-4567' });
    const p = make();
    const [match] = await p.findContactsByPhone(query);
    const input = { key: 'vn-call~2D1-0003~2A210', record: record(), match, ownerId: ann, subject: 'Inbound call from Jane Roe (answered)', description: 'Talk time: 60 s' };
    const first = await p.logCall(input);
    const second = await p.logCall(input);
    expect(first).toEqual({ id: expect.stringMatching(/^00T/), url: `${sf.url}/lightning/r/Task/${first.id}/view`, created: true });
    expect(second).toEqual({ ...first, created: false });
    expect(sf.tasks()).toHaveLength(1);
    expect(sf.tasks()[0]).toMatchObject({
      Subject: 'Inbound call from Jane Roe (answered)',
      TaskSubtype: 'Call',
      CallType: 'Inbound',
      CallDurationInSeconds: 60,
      CallDisposition: 'Answered',
      CallObject: 'vn-call~2D1-0003~2A210',
      Status: 'Completed',
      ActivityDate: '2026-11-24',
      Description: 'Talk time: 60 s',
      WhoId: contact,
      OwnerId: ann,
    });
    expect(sf.tasks()[0].WhatId).toBeUndefined();
  });

  it('a missed call from a Lead, an outbound call to an Account and an unknown caller each give one Task, linked the right way', async () => {
    const lead = sf.add('Lead', { Name: 'Lee Lead', Phone: '5551234567' });
    const account = sf.add('Account', { Name: 'Acme', Phone: '+3258422544' });
    const p = make();
    const [leadMatch] = await p.findContactsByPhone(query);
    const [accountMatch] = await p.findContactsByPhone(phoneQuery('003258422544', 'BE')!);
    await p.logCall({ key: 'k-missed', record: record({ outcome: 'missed', answeredAt: undefined, talkSeconds: undefined }), match: leadMatch, ownerId: ann, subject: 's1', description: 'd' });
    await p.logCall({
      key: 'k-out',
      record: record({ direction: 'outbound', caller: { extension: '0003*210' }, callee: { number: '003258422544' }, remoteNumber: '003258422544' }),
      match: accountMatch,
      ownerId: ann,
      subject: 's2',
      description: 'd',
    });
    await p.logCall({ key: 'k-unknown', record: record({ outcome: 'busy', talkSeconds: undefined }), subject: 's3', description: 'd' });
    const [missed, out, unknown] = sf.tasks();
    expect(missed).toMatchObject({ WhoId: lead, CallType: 'Inbound', CallDisposition: 'No answer', CallDurationInSeconds: 0, OwnerId: ann });
    expect(out).toMatchObject({ WhatId: account, CallType: 'Outbound', CallDisposition: 'Answered', CallDurationInSeconds: 60 });
    expect(out.WhoId).toBeUndefined();
    expect(unknown).toMatchObject({ CallDisposition: 'Busy', CallObject: 'k-unknown' });
    expect([unknown.WhoId, unknown.WhatId, unknown.OwnerId]).toEqual([undefined, undefined, undefined]);
  });

  it('with a custom key field, CallObject holds the bare VoipNow CallID', async () => {
    await sf.close();
    await start({ customTaskFields: ['VoipNow_Call_Key__c'] });
    const p = make({ callKeyField: 'VoipNow_Call_Key__c' });
    const input = { key: 'vn-call~2D1-0003~2A210', record: record(), subject: 's', description: 'd' };
    await p.logCall(input);
    await expect(p.logCall(input)).resolves.toMatchObject({ created: false });
    expect(sf.tasks()).toEqual([expect.objectContaining({ CallObject: 'call-1', VoipNow_Call_Key__c: 'vn-call~2D1-0003~2A210' })]);
  });

  it('a Task created by Salesforce whose answer was lost is found on retry: still one Task', async () => {
    const p = make();
    sf.inject({ method: 'POST', pathIncludes: '/sobjects/Task', afterCommit: true, drop: true });
    const input = { key: 'k-lost', record: record(), subject: 's', description: 'd' };
    await expect(p.logCall(input)).rejects.toMatchObject({ kind: 'retryable' });
    expect(sf.tasks()).toHaveLength(1);
    await expect(p.logCall(input)).resolves.toMatchObject({ created: false, id: sf.tasks()[0].Id });
    expect(sf.tasks()).toHaveLength(1);
  });

  it('a first attempt (mayExist: false) creates without searching: one request per call', async () => {
    const p = make();
    await p.findContactsByPhone(query);
    const before = sf.requests.length;
    await expect(p.logCall({ key: 'k-first', record: record(), subject: 's', description: 'd', mayExist: false })).resolves.toMatchObject({ created: true });
    expect(sf.requests.slice(before).map((r) => `${r.method} ${r.path.replace(/^\/services\/data\/v[\d.]+/, '')}`)).toEqual(['POST /sobjects/Task']);
  });

  it('logs a batch in two requests (key query, sObject Collections create), one result per call, a refused Task failing alone', async () => {
    const p = make();
    const done = await p.logCall({ key: 'k-b1', record: record(), subject: 's', description: 'd' });
    const before = sf.requests.length;
    const results = await p.logCalls!([
      { key: 'k-b1', record: record(), subject: 's', description: 'd' },
      { key: 'k-b2', record: record({ callId: 'call-2' }), ownerId: ann, subject: 's2', description: 'd' },
      { key: 'k-b3', record: record({ callId: 'call-3' }), ownerId: '0055g00000NOPE1AAA', subject: 's3', description: 'd' },
      { key: 'k-b4', record: record({ callId: 'call-4' }), subject: 's4', description: 'd', mayExist: false },
    ]);
    expect(results).toEqual([
      { id: done.id, url: done.url, created: false },
      { id: expect.stringMatching(/^00T/), url: expect.stringContaining('/lightning/r/Task/'), created: true },
      expect.objectContaining({ kind: 'permanent', opts: expect.objectContaining({ code: 'INVALID_CROSS_REFERENCE_KEY' }) }),
      expect.objectContaining({ created: true }),
    ]);
    expect(sf.requests.slice(before).map((r) => r.method + ' ' + r.path.split('/').slice(4).join('/'))).toEqual(['GET query', 'POST composite/sobjects']);
    expect(sf.requests.at(-2)!.query.get('q')).toBe("SELECT Id, CallObject FROM Task WHERE CallObject IN ('k-b1', 'k-b2', 'k-b3')");
    expect(sf.tasks().map((t) => [t.CallObject, t.OwnerId])).toEqual([
      ['k-b1', undefined],
      ['k-b2', ann],
      ['k-b4', undefined],
    ]);
  });

  it('a batch whose answer was lost is found on retry: no Task twice', async () => {
    const p = make();
    const batch = ['k-l1', 'k-l2'].map((key) => ({ key, record: record(), subject: key, description: 'd' }));
    sf.inject({ method: 'POST', pathIncludes: '/composite/sobjects', afterCommit: true, drop: true });
    await expect(p.logCalls!(batch)).rejects.toMatchObject({ kind: 'retryable' });
    const retried = await p.logCalls!(batch);
    expect(retried.map((r) => (r as { created: boolean }).created)).toEqual([false, false]);
    expect(sf.tasks()).toHaveLength(2);
  });

  // Every row has five entries: jest passes a `done` callback to a test with more parameters than row entries.
  it.each<[string, string, Parameters<FakeSalesforce['inject']>[0], Partial<CrmError>, number | undefined]>([
    ['the daily API limit', '/search', { status: 403, body: [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }] }, { kind: 'quota-exhausted' }, 3600_000],
    [
      'too many concurrent long requests',
      '/search',
      { status: 403, body: [{ message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }] },
      { kind: 'rate-limited' },
      10_000,
    ],
    [
      'a 429 with Retry-After',
      '/search',
      { status: 429, headers: { 'Retry-After': '7' }, body: [{ message: 'Too many requests', errorCode: 'REQUEST_LIMIT_EXCEEDED_RATE' }] },
      { kind: 'rate-limited' },
      7000,
    ],
    ['a 429 without Retry-After', '/search', { status: 429, body: [{ message: 'Too many requests', errorCode: 'TOO_MANY_REQUESTS' }] }, { kind: 'rate-limited' }, 10_000],
    ['a 503 with Retry-After', '/search', { status: 503, headers: { 'Retry-After': '2' }, body: 'Service Unavailable' }, { kind: 'rate-limited' }, 2000],
    ['a 503', '/search', { status: 503, body: [{ message: 'Server unavailable', errorCode: 'SERVER_UNAVAILABLE' }] }, { kind: 'retryable' }, undefined],
    ['a dropped connection', '/search', { drop: true }, { kind: 'retryable', opts: { code: 'ECONNRESET' } }, undefined],
    [
      'a malformed query',
      '/search',
      { status: 400, body: [{ message: "unexpected token: 'OR' near 5551234567", errorCode: 'MALFORMED_QUERY' }] },
      { kind: 'permanent', opts: { code: 'MALFORMED_QUERY' }, message: "Salesforce 400 MALFORMED_QUERY: unexpected token: 'OR' near *******567" },
      undefined,
    ],
    [
      'a row lock on create',
      '/sobjects/Task',
      { status: 400, body: [{ message: 'unable to obtain exclusive access to this record', errorCode: 'UNABLE_TO_LOCK_ROW', fields: [] }] },
      { kind: 'retryable', opts: { code: 'UNABLE_TO_LOCK_ROW' } },
      undefined,
    ],
    [
      'a validation rule on create',
      '/sobjects/Task',
      { status: 400, body: [{ message: 'Calls need a subject', errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', fields: ['Subject'] }] },
      { kind: 'permanent' },
      undefined,
    ],
  ])('classifies %s', async (_what, path, fault, expected, retryAfterMs) => {
    sf.inject({ ...fault, pathIncludes: path });
    const p = make();
    const run = path === '/search' ? () => p.findContactsByPhone(query) : () => p.logCall({ key: 'k-err', record: record(), subject: 's', description: 'd' });
    const err = (await run().catch((e: unknown) => e)) as CrmError;
    expect(err).toBeInstanceOf(CrmError);
    expect(err).toMatchObject(expected);
    if (retryAfterMs) expect(err.opts.retryAfterMs).toBe(retryAfterMs);
    // jsforce's own back-off is off: one request, then the connector decides.
    expect(sf.requests.filter((r) => r.path.endsWith(path))).toHaveLength(1);
  });

  it("an unknown owner or contact is a permanent failure with Salesforce's message", async () => {
    const p = make();
    const owner = (await p.logCall({ key: 'k-owner', record: record(), ownerId: '0055g00000NOPE1AAA', subject: 's', description: 'd' }).catch((e: unknown) => e)) as CrmError;
    expect(owner).toMatchObject({ kind: 'permanent', opts: { code: 'INVALID_CROSS_REFERENCE_KEY', status: 400 } });
    expect(owner.message).toMatch(/owner cannot be blank \(fields: OwnerId\)/);
    const match = { connection: 'sf', recordType: 'Contact', id: '0035g00000GONE1AAA', displayName: 'Gone' };
    await expect(p.logCall({ key: 'k-who', record: record(), match, subject: 's', description: 'd' })).rejects.toMatchObject({ kind: 'permanent', opts: { code: 'FIELD_INTEGRITY_EXCEPTION' } });
    expect(sf.tasks()).toHaveLength(0);
  });

  it("a slow search gives up at lookupTimeoutMs (our timer, not jsforce's), and an aborted pop stops waiting", async () => {
    const p = make({ lookupTimeoutMs: 200 });
    await p.findContactsByPhone(query);
    // Short enough that the fake's answer is sent before jest checks for open handles.
    sf.inject({ pathIncludes: '/search', delayMs: 800 });
    await expect(p.findContactsByPhone(query)).rejects.toMatchObject({ kind: 'retryable', opts: { code: 'TIMEOUT' } });
    await expect(p.findContactsByPhone(query, { signal: AbortSignal.abort() })).rejects.toMatchObject({ kind: 'retryable', opts: { code: 'TIMEOUT' } });
  });

  it('finds owners by e-mail (quotes escaped), health reports the API budget, new-contact link pre-fills the phone', async () => {
    sf.add('User', { Name: 'Gone', Email: 'bob@example.com', IsActive: false });
    const p = make();
    expect(await p.findUserIdByEmail!("ann.o'neil@example.com")).toBe(ann);
    expect(await p.findUserIdByEmail!('bob@example.com')).toBeUndefined();
    expect(await p.findUserIdByEmail!("x' OR Name = 'Ann Agent")).toBeUndefined();
    const health = await p.health();
    expect(health).toEqual({ ok: true, detail: expect.stringMatching(/API requests left today \d+\/15000/) });
    expect(p.newContactUrl!('+15551234567')).toBe(`${sf.url}/lightning/o/Contact/new?defaultFieldValues=Phone=%2B15551234567`);
    sf.refreshTokens.clear();
    sf.expireSessions();
    expect(await make().health()).toMatchObject({ ok: false, detail: expect.stringMatching(/^auth: /) });
  });

  it("asks the connection's request budget before each request (lookups first in line), and a spent budget sends nothing", async () => {
    const asked: string[] = [];
    const p = make({}, { acquire: async (priority) => void asked.push(priority) });
    await p.findContactsByPhone(query);
    await p.logCall({ key: 'k-budget', record: record(), subject: 's', description: 'd' });
    expect(asked).toEqual(['interactive', 'bulk', 'bulk']);
    const before = sf.requests.length;
    const spent = make({}, { acquire: () => Promise.reject(new CrmError('quota-exhausted', 'daily request budget spent', { retryAfterMs: 60_000 })) });
    await expect(spent.findContactsByPhone(query)).rejects.toMatchObject({ kind: 'quota-exhausted', opts: { retryAfterMs: 60_000 } });
    expect(sf.requests.length).toBe(before);
  });
});
