import { CrmError, CrmProvider } from '../../src/crm/crm-provider';
import { hubspotProvider } from '../../src/crm/hubspot';
import { phoneQuery } from '../../src/crm/phone';
import { FakeHubSpot, startFakeHubSpot } from '../fakes/fake-hubspot';
import { answeredCall } from '../support/call-records';
import { useProviderRedis } from '../support/crm-provider-fixture';

const record = answeredCall;

describe('HubSpot provider (real @hubspot/api-client against the fake HubSpot)', () => {
  let hs: FakeHubSpot;
  const store = useProviderRedis('ths');
  const secrets: Record<string, string> = { HS_TOKEN: 'pat-test-token', HS_CLIENT_SECRET: 'shh', HS_REFRESH: 'refresh-1' };
  const make = (settings: Record<string, unknown> = {}): CrmProvider =>
    hubspotProvider.create(
      'hs',
      hubspotProvider.settings.parse({ type: 'hubspot', basePath: hs.url, auth: { flow: 'private-app', tokenEnv: 'HS_TOKEN' }, ...settings }),
      store.deps('hs', { secret: (n) => secrets[n] }),
    );
  const query = phoneQuery('0015551234567', 'US')!;

  beforeEach(async () => {
    hs = await startFakeHubSpot({ oauth: { clientId: 'app-1', clientSecret: 'shh', refreshToken: 'refresh-1' } });
    hs.addOwner({ id: '77', email: 'ann@example.com', firstName: 'Ann' });
  });
  afterEach(() => hs.close());

  it('finds the contact stored as (555) 123-4567 when VoipNow sends 0015551234567, with its record URL', async () => {
    const id = hs.addContact({ firstname: 'Jane', lastname: 'Roe', company: 'Acme', phone: '(555) 123-4567', hubspot_owner_id: '77' });
    hs.addContact({ firstname: 'Other', lastname: 'Person', phone: '(555) 999-0000' });
    const matches = await make().findContactsByPhone(query);
    expect(matches).toEqual([
      expect.objectContaining({ id, recordType: 'contact', displayName: 'Jane Roe', company: 'Acme', ownerId: '77', url: `https://app.hubspot.com/contacts/4242/record/0-1/${id}` }),
    ]);
    const search = hs.requests.find((r) => r.path === '/crm/v3/objects/contacts/search')!;
    expect(search.body.filterGroups.length).toBeLessThanOrEqual(5);
  });

  it('finds a mobile number stored in E.164 too, and ranks several matches most recently active first', async () => {
    const older = hs.addContact({ firstname: 'Old', phone: '555-123-4567' });
    const newer = hs.addContact({ firstname: 'New', mobilephone: '+15551234567' });
    const matches = await make().findContactsByPhone(query);
    expect(matches.map((m) => m.id)).toEqual([newer, older]);
  });

  it("uses an EU portal's domain in record URLs", async () => {
    const eu = await startFakeHubSpot({ uiDomain: 'app-eu1.hubspot.com', portalId: 999 });
    try {
      const id = eu.addContact({ firstname: 'Eu', phone: '(555) 123-4567' });
      const p = hubspotProvider.create(
        'eu',
        hubspotProvider.settings.parse({ type: 'hubspot', basePath: eu.url, auth: { flow: 'private-app', tokenEnv: 'HS_TOKEN' } }),
        store.deps('eu', { secret: (n) => secrets[n] }),
      );
      expect((await p.findContactsByPhone(query))[0].url).toBe(`https://app-eu1.hubspot.com/contacts/999/record/0-1/${id}`);
    } finally {
      await eu.close();
    }
  });

  it('logs an answered call once: properties, owner and the association to the contact', async () => {
    const contactId = hs.addContact({ firstname: 'Jane', lastname: 'Roe', phone: '(555) 123-4567' });
    const p = make();
    const [match] = await p.findContactsByPhone(query);
    const input = { key: 'vn-call~2D1-0003~2A210', record: record(), match, ownerId: '77', subject: 'Inbound call from Jane Roe (answered)', description: 'Talk time: 60 s' };
    const first = await p.logCall(input);
    const second = await p.logCall(input);
    expect(first.created).toBe(true);
    expect(second).toEqual({ id: first.id, url: match.url, created: false });
    expect(hs.calls()).toHaveLength(1);
    const call = hs.calls()[0];
    expect(call.properties).toMatchObject({
      hs_timestamp: '2026-11-24T10:00:00.000Z',
      hs_call_title: 'Inbound call from Jane Roe (answered)',
      hs_call_direction: 'INBOUND',
      hs_call_duration: '60000',
      hs_call_status: 'COMPLETED',
      hs_call_disposition: 'f240bbac-87c9-4f6e-bf70-924b57d47db7',
      hs_call_from_number: '0015551234567',
      hs_call_to_number: '+3222222222',
      hubspot_owner_id: '77',
      voipnow_call_key: 'vn-call~2D1-0003~2A210',
    });
    expect(call.associations).toEqual([{ to: { id: contactId }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 194 }] }]);
    expect(hs.callProperties.has('voipnow_call_key')).toBe(true);
  });

  it('a missed call and an outbound call get the right status and direction, without a contact when there is none', async () => {
    const p = make();
    await p.logCall({ key: 'k-missed', record: record({ outcome: 'missed', answeredAt: undefined, talkSeconds: undefined }), subject: 's', description: 'd' });
    await p.logCall({
      key: 'k-out',
      record: record({ direction: 'outbound', caller: { extension: '0003*210' }, callee: { number: '003258422544' }, remoteNumber: '003258422544' }),
      subject: 's',
      description: 'd',
    });
    const [missed, out] = hs.calls();
    expect(missed.properties).toMatchObject({ hs_call_status: 'NO_ANSWER', hs_call_duration: '0', hs_call_disposition: '73a0d17f-1163-4015-bdd5-ec830791da20' });
    expect(missed.associations).toEqual([]);
    expect(out.properties).toMatchObject({ hs_call_direction: 'OUTBOUND', hs_call_to_number: '003258422544', hs_call_from_number: '0003*210' });
  });

  it('a call created by HubSpot whose answer was lost is found on retry: still one call', async () => {
    const p = make();
    hs.inject({ method: 'POST', pathIncludes: '/crm/v3/objects/calls', match: (r) => r.method === 'POST' && r.path === '/crm/v3/objects/calls', afterCommit: true, drop: true });
    const input = { key: 'k-lost', record: record(), subject: 's', description: 'd' };
    await expect(p.logCall(input)).rejects.toMatchObject({ kind: 'retryable' });
    expect(hs.calls()).toHaveLength(1);
    await expect(p.logCall(input)).resolves.toMatchObject({ created: false, id: hs.calls()[0].id });
    expect(hs.calls()).toHaveLength(1);
  });

  // Every row has four entries: jest passes a `done` callback to a test with more parameters than row entries.
  it.each<[string, Parameters<FakeHubSpot['inject']>[0], Partial<CrmError>, number | undefined]>([
    [
      'a rolling-window 429',
      {
        status: 429,
        headers: { 'X-HubSpot-RateLimit-Interval-Milliseconds': '10000', 'X-HubSpot-RateLimit-Remaining': '0' },
        body: { status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING' },
      },
      { kind: 'rate-limited' },
      10_000,
    ],
    ['a 429 with Retry-After', { status: 429, headers: { 'Retry-After': '3' }, body: { status: 'error', message: 'slow down' } }, { kind: 'rate-limited' }, 3000],
    [
      'a DAILY 429',
      {
        status: 429,
        headers: { 'X-HubSpot-RateLimit-Daily': '250000', 'X-HubSpot-RateLimit-Daily-Remaining': '0' },
        body: { status: 'error', message: 'You have reached your daily limit.', errorType: 'RATE_LIMIT', policyName: 'DAILY' },
      },
      { kind: 'quota-exhausted' },
      undefined,
    ],
    ['a 503', { status: 503, body: { status: 'error', message: 'Service Unavailable' } }, { kind: 'retryable' }, undefined],
    ['a dropped connection', { drop: true }, { kind: 'retryable' }, undefined],
    ['a 400 validation error', { status: 400, body: { status: 'error', message: 'Property values were not valid', category: 'VALIDATION_ERROR' } }, { kind: 'permanent' }, undefined],
  ])('classifies %s', async (_what, fault, expected, retryAfterMs) => {
    hs.inject({ ...fault, pathIncludes: '/contacts/search' });
    const err = (await make()
      .findContactsByPhone(query)
      .catch((e: unknown) => e)) as CrmError;
    expect(err).toBeInstanceOf(CrmError);
    expect(err).toMatchObject(expected);
    if (retryAfterMs) expect(err.opts.retryAfterMs).toBe(retryAfterMs);
    if (expected.kind === 'quota-exhausted') expect(err.opts.retryAfterMs).toBeGreaterThan(0);
  });

  it("an unknown owner is a permanent failure with HubSpot's message", async () => {
    const err = (await make()
      .logCall({ key: 'k-owner', record: record(), ownerId: '999', subject: 's', description: 'd' })
      .catch((e: unknown) => e)) as CrmError;
    expect(err).toMatchObject({ kind: 'permanent' });
    expect(err.message).toMatch(/999 is not a valid owner id/);
  });

  it('OAuth: one token refresh for five concurrent lookups, and again once when the token expires', async () => {
    hs.addContact({ firstname: 'Jane', phone: '(555) 123-4567' });
    const p = make({ auth: { flow: 'oauth', clientId: 'app-1', clientSecretEnv: 'HS_CLIENT_SECRET', refreshTokenEnv: 'HS_REFRESH' } });
    await Promise.all(Array.from({ length: 5 }, () => p.findContactsByPhone(query)));
    expect(hs.count('POST', '/oauth/v1/token')).toBe(1);
    hs.expireAccessTokens();
    await Promise.all(Array.from({ length: 5 }, () => p.findContactsByPhone(query)));
    expect(hs.count('POST', '/oauth/v1/token')).toBe(2);
  });

  it('a slow search gives up after lookupTimeoutMs instead of stalling a screen pop', async () => {
    hs.setLatency(2000);
    const started = Date.now();
    const err = await make({ lookupTimeoutMs: 300 })
      .findContactsByPhone(query)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'retryable', opts: { code: 'TIMEOUT' } });
    expect(Date.now() - started).toBeLessThan(600);
  });

  it('owners are found by e-mail', async () => {
    expect(await make().findUserIdByEmail!('ann@example.com')).toBe('77');
    expect(await make().findUserIdByEmail!('nobody@example.com')).toBeUndefined();
  });
});
