import { CrmMatch, CrmProvider, PhoneQuery } from '../../src/crm/crm-provider';
import { phoneQuery } from '../../src/crm/phone';
import { salesforceProvider } from '../../src/crm/salesforce';
import { FakeSalesforce, startFakeSalesforce } from '../fakes/fake-salesforce';
import { useProviderRedis } from '../support/crm-provider-fixture';

/** Batched SOSL lookups and Leads for unknown callers, real jsforce against the fake Salesforce. */
describe('Salesforce batched lookups and createContact', () => {
  let sf: FakeSalesforce;
  const store = useProviderRedis('tsl', { prefixPerTest: true });
  const make = (settings: Record<string, unknown> = {}): CrmProvider =>
    salesforceProvider.create(
      'sf',
      salesforceProvider.settings.parse({ type: 'salesforce', loginUrl: sf.url, auth: { flow: 'refresh-token', clientId: 'client-1', clientSecretEnv: 'S', refreshTokenEnv: 'R' }, ...settings }),
      store.deps('sf', { secret: (n) => ({ S: 'secret-1', R: '5Aep861-refresh-1' })[n]! }),
    );
  const q = (n: string): PhoneQuery => phoneQuery(n, 'US')!;
  const searches = () => sf.requests.filter((r) => r.path.endsWith('/search'));
  const ids = (matches: CrmMatch[][]) => matches.map((ms) => ms.map((m) => m.id));
  let ann: string;

  beforeEach(async () => {
    sf = await startFakeSalesforce();
    ann = sf.add('User', { Name: 'Ann Agent', Email: 'ann@example.com', IsActive: true });
  });
  afterEach(() => sf.close());

  describe('findContactsByPhones', () => {
    it('one SOSL search for several numbers; each record goes back to the number its phone fields hold, ranked as a single lookup ranks', async () => {
      const jane = sf.add('Contact', { Name: 'Jane Roe', Phone: '(555) 123-4567' });
      const lead = sf.add('Lead', { Name: 'Lee Lead', Company: 'Leads Inc', MobilePhone: '+1 555 200 0002' });
      const home = sf.add('Contact', { Name: 'Homer', HomePhone: '555.300.0003' });
      const acct = sf.add('Account', { Name: 'Acme', Phone: '5551234567' });
      sf.add('Contact', { Name: 'Not asked', Phone: '(555) 999-0000' });
      const queries = [q('0015551234567'), q('+15552000002'), q('0015554440000'), q('5553000003')];
      const results = await make().findContactsByPhones!(queries);
      expect(ids(results)).toEqual([[jane, acct], [lead], [], [home]]);
      expect(results[1][0]).toMatchObject({ recordType: 'Lead', company: 'Leads Inc', url: `${sf.url}/lightning/r/Lead/${lead}/view` });
      expect(searches()).toHaveLength(1);
      // The same records a one-number lookup finds.
      expect((await make().findContactsByPhone(queries[0])).map((m) => m.id)).toEqual([jane, acct]);
    });

    it("150 numbers: searches of at most 60 numbers each, every FIND {…} under SOSL's 4,000 characters, every number answered", async () => {
      const numbers = Array.from({ length: 150 }, (_, i) => `+1555${String(6000000 + i)}`);
      const contacts = numbers.map((n, i) => sf.add('Contact', { Name: `Caller ${i}`, Phone: `(555) ${n.slice(5, 8)}-${n.slice(8)}` }));
      const results = await make().findContactsByPhones!(numbers.map(q));
      expect(ids(results)).toEqual(contacts.map((c) => [c]));
      expect(searches()).toHaveLength(3);
      for (const s of searches()) expect(/^FIND \{(.*)\} IN PHONE FIELDS/s.exec(s.query.get('q')!)![1].length).toBeLessThanOrEqual(4000);
    });

    it('a refused search fails the whole batch with the classified error', async () => {
      sf.inject({ pathIncludes: '/search', status: 503, headers: { 'Retry-After': '2' }, body: [{ message: 'Server busy', errorCode: 'SERVER_UNAVAILABLE' }] });
      await expect(make().findContactsByPhones!([q('5551234567'), q('5552000002')])).rejects.toMatchObject({ kind: 'rate-limited', opts: { retryAfterMs: 2000 } });
    });
  });

  describe('createContact', () => {
    const number = '+15557654321';
    const leads = () => sf.objects.filter((o) => o.type === 'Lead');

    it('creates a Lead with the caller ID name, the number, the placeholder company and the owner; the next lookup finds it', async () => {
      const p = make();
      const match = await p.createContact!({ key: 'vn-c1-0003~2A210', number, name: 'J ROE', ownerId: ann });
      expect(leads()).toHaveLength(1);
      expect(leads()[0]).toMatchObject({ LastName: 'J ROE', Company: 'Unknown (VoipNow caller)', Phone: number, OwnerId: ann, Description: expect.stringContaining('vn-c1-0003~2A210') });
      expect(match).toMatchObject({
        connection: 'sf',
        recordType: 'Lead',
        id: leads()[0].Id,
        displayName: 'J ROE',
        company: 'Unknown (VoipNow caller)',
        phone: number,
        ownerId: ann,
        url: `${sf.url}/lightning/r/Lead/${leads()[0].Id}/view`,
      });
      expect((await p.findContactsByPhone(q('0015557654321'))).map((m) => m.id)).toEqual([match.id]);
    });

    it("without a caller ID name the number is the Lead's name; the company placeholder can be set per connection", async () => {
      const match = await make({ newLeadCompany: 'Inbound caller' }).createContact!({ key: 'k', number });
      expect(leads()[0]).toMatchObject({ LastName: number, Company: 'Inbound caller' });
      expect(match.displayName).toBe(number);
    });

    it('a retry after a lost answer, and a later call from the same number, get the Lead already created', async () => {
      const p = make();
      sf.inject({ method: 'POST', pathIncludes: '/sobjects/Lead', afterCommit: true, drop: true });
      await expect(p.createContact!({ key: 'vn-c2', number })).rejects.toMatchObject({ kind: 'retryable' });
      const again = await p.createContact!({ key: 'vn-c2', number });
      const later = await p.createContact!({ key: 'vn-c3', number, name: 'J ROE' });
      expect(leads()).toHaveLength(1);
      expect([again.id, later.id]).toEqual([leads()[0].Id, leads()[0].Id]);
    });

    it('two calls from the same new number at once, on two instances, make one Lead', async () => {
      sf.setLatency(30);
      const [a, b] = await Promise.all([make().createContact!({ key: 'vn-x', number }), make().createContact!({ key: 'vn-y', number })]);
      expect(leads()).toHaveLength(1);
      expect(a.id).toBe(b.id);
    });

    it("an unknown owner is a permanent failure with Salesforce's message, and nothing is created", async () => {
      const err = await make().createContact!({ key: 'k', number, ownerId: '0055g00000NOBODY' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'permanent', opts: { code: 'INVALID_CROSS_REFERENCE_KEY' } });
      expect(leads()).toHaveLength(0);
    });
  });
});
