import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CrmMatch } from '../../src/crm/crm-provider';
import { LookupService } from '../../src/crm/lookup.service';
import { phoneQuery } from '../../src/crm/phone';
import { FakeHubSpot, startFakeHubSpot } from '../fakes/fake-hubspot';
import { FakeSalesforce, startFakeSalesforce } from '../fakes/fake-salesforce';
import { startTestApp, TEST_ADMIN_TOKEN, TestApp } from '../support/test-app';

/**
 * One number, one answer: whichever way a number is stored (format) and wherever (phone field),
 * every lookup path finds the same records for it — the screen pop (one search), call logging
 * (batched searches: a batch of one number and a batch of several) and the admin lookup test —
 * through the real SDKs against the fake CRMs, whose searches compare digits the way the vendors
 * document (Salesforce's SOSL IN PHONE FIELDS; HubSpot's calculated searchable phone numbers).
 * Each match says which field holds the number (matchedOn).
 */

/** How a number is written in the CRM, per country: each format gets its own number. */
const FORMATS: { country: 'GB' | 'US'; format: string; write: (n: { national: string; last4: string }) => string }[] = [
  { country: 'GB', format: 'E.164', write: (n) => `+44${n.national}` },
  { country: 'GB', format: 'international with spaces', write: (n) => `+44 20 7946 ${n.last4}` },
  { country: 'GB', format: 'national with spaces', write: (n) => `020 7946 ${n.last4}` },
  { country: 'GB', format: 'national with dashes and parentheses', write: (n) => `(020) 7946-${n.last4}` },
  { country: 'GB', format: 'international 00 prefix', write: (n) => `0044 20 7946 ${n.last4}` },
  { country: 'GB', format: 'digits only, trunk prefix 0', write: (n) => `0${n.national}` },
  { country: 'US', format: 'E.164', write: (n) => `+1${n.national}` },
  { country: 'US', format: 'national with parentheses and dash', write: (n) => `(555) 010-${n.last4}` },
  { country: 'US', format: 'national with dots', write: (n) => `555.010.${n.last4}` },
  { country: 'US', format: 'trunk prefix 1 with spaces', write: (n) => `1 555 010 ${n.last4}` },
  { country: 'US', format: 'international 00 prefix', write: (n) => `001 555 010 ${n.last4}` },
  { country: 'US', format: 'digits only', write: (n) => n.national },
];

/** The phone fields each CRM's lookup searches. */
const FIELDS = {
  salesforce: [
    ['Contact', 'Phone'],
    ['Contact', 'MobilePhone'],
    ['Contact', 'HomePhone'],
    ['Contact', 'OtherPhone'],
    ['Lead', 'Phone'],
    ['Lead', 'MobilePhone'],
    ['Account', 'Phone'],
    ['Account', 'Fax'],
  ],
  hubspot: [
    ['contact', 'phone'],
    ['contact', 'mobilephone'],
  ],
  file: [
    ['contact', 'phone'],
    ['contact', 'mobile'],
  ],
} as const;
type Crm = keyof typeof FIELDS;

interface Row {
  country: 'GB' | 'US';
  format: string;
  stored: string;
  /** How VoipNow may send the caller's number: 00-international, E.164, national. */
  incoming: string[];
  /** Record id → [object, field] that holds the number, per CRM. */
  records: Record<Crm, Map<string, [string, string]>>;
}

describe('Lookup parity: every path finds the same records for a number', () => {
  let t: TestApp;
  let sf: FakeSalesforce;
  let hs: FakeHubSpot;
  let dir: string;
  let lookups: LookupService;
  const rows: Row[] = FORMATS.map((f, i) => {
    const last4 = String(951 + i).padStart(4, '0');
    const national = f.country === 'GB' ? `207946${last4}` : `555010${last4}`;
    const incoming = f.country === 'GB' ? [`0044${national}`, `+44${national}`, `0${national}`] : [`001${national}`, `+1${national}`, national];
    return { ...f, stored: f.write({ national, last4 }), incoming, records: { salesforce: new Map(), hubspot: new Map(), file: new Map() } };
  });

  beforeAll(async () => {
    sf = await startFakeSalesforce();
    hs = await startFakeHubSpot();
    const csv: Record<string, string[]> = { GB: [], US: [] };
    for (const row of rows) {
      for (const [object, field] of FIELDS.salesforce) {
        const name = `${row.country} ${row.format} in ${object}.${field}`;
        const extra = object === 'Lead' ? { Company: 'Leads Ltd', IsConverted: false } : {};
        row.records.salesforce.set(sf.add(object, { Name: name, [field]: row.stored, ...extra }), [object, field]);
      }
      for (const [object, field] of FIELDS.hubspot) {
        row.records.hubspot.set(hs.addContact({ firstname: row.format, lastname: `${row.country} ${field}`, [field]: row.stored }), [object, field]);
      }
      for (const [object, field] of FIELDS.file) {
        const id = `${row.country}-${row.format.replace(/\W+/g, '-')}-${field}`;
        csv[row.country].push(`${id},"${row.format} (${field})",,"${field === 'phone' ? row.stored : ''}","${field === 'mobile' ? row.stored : ''}",,`);
        row.records.file.set(id, [object, field]);
      }
    }
    dir = mkdtempSync(join(tmpdir(), 'vncc-parity-'));
    for (const country of ['GB', 'US']) writeFileSync(join(dir, `${country}.csv`), `id,name,company,phone,mobile,email,owner\n${csv[country].join('\n')}\n`);
    // The cache off, so every path asks the CRM; batches linger briefly so concurrent loads share one search;
    // a budget that never makes the test wait.
    const common = 'cache: { hitSeconds: 0, missSeconds: 0 }, batch: { maxSize: 100, lingerMs: 20 }, rateLimit: { requests: 1000, perSeconds: 1 }';
    writeFileSync(
      join(dir, 'connector.yaml'),
      `connections:
  salesforce: { type: salesforce, loginUrl: "${sf.url}", auth: { flow: refresh-token, clientId: client-1, clientSecretEnv: SF_PARITY_SECRET, refreshTokenEnv: SF_PARITY_REFRESH }, ${common} }
  hubspot: { type: hubspot, basePath: "${hs.url}", portalId: 4242, uiDomain: app.hubspot.com, auth: { flow: private-app, tokenEnv: HS_PARITY_TOKEN }, ${common} }
  file-GB: { type: file, contactsCsv: GB.csv, callLogFile: calls-gb.jsonl, country: GB, ${common} }
  file-US: { type: file, contactsCsv: US.csv, callLogFile: calls-us.jsonl, country: US, ${common} }
mappings:
  defaults: { connection: salesforce, country: US }
`,
    );
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), SF_PARITY_SECRET: 'secret-1', SF_PARITY_REFRESH: '5Aep861-refresh-1', HS_PARITY_TOKEN: 'pat-test-token' });
    lookups = t.app.get(LookupService);
  });
  afterAll(async () => {
    await t?.close();
    await sf?.close();
    await hs?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const connectionOf = (crm: Crm, row: Row) => (crm === 'file' ? `file-${row.country}` : crm);
  const query = (number: string, country: string) => phoneQuery(number, country)!;

  type Path = (connection: string, number: string, country: string, others: string[]) => Promise<CrmMatch[]>;
  const PATHS: Record<string, Path> = {
    'screen pop (findContactsByPhone)': async (connection, number, country) => (await lookups.lookup(connection, query(number, country))).matches,
    'call log, a batch of one (findContactsByPhones)': async (connection, number, country) => (await lookups.lookup(connection, query(number, country), { bulk: true })).matches,
    'call log, a batch of several (findContactsByPhones)': async (connection, number, country, others) => {
      const all = await Promise.all([number, ...others].map((n) => lookups.lookup(connection, query(n, country), { bulk: true })));
      return all[0].matches;
    },
    'admin lookup test (POST /admin/lookup)': async (connection, number, country) => {
      const res = await fetch(`${t.url}/admin/lookup`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ connection, number, country, fresh: true }),
      });
      if (res.status !== 200) throw new Error(`admin lookup answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { matches: CrmMatch[] }).matches;
    },
  };

  const cases = (Object.keys(FIELDS) as Crm[]).flatMap((crm) => Object.keys(PATHS).map((path) => [crm, path] as const));

  it.each(cases)('%s, %s: finds every record holding the number, in every format and phone field, each with the field it matched on', async (crm, path) => {
    const problems: string[] = [];
    for (const row of rows) {
      const others = rows
        .filter((r) => r !== row && r.country === row.country)
        .slice(0, 3)
        .map((r) => r.incoming[0]);
      for (const number of row.incoming) {
        const matches = await PATHS[path](connectionOf(crm, row), number, row.country, others);
        const found = new Map(matches.map((m) => [m.id, m]));
        for (const [id, [object, field]] of row.records[crm]) {
          const m = found.get(id);
          if (!m) problems.push(`${number} → stored "${row.stored}" (${row.format}) in ${object}.${field}: not found`);
          else if (m.matchedOn?.object !== object || m.matchedOn?.field !== field) problems.push(`${number} → ${object}.${field}: matchedOn ${JSON.stringify(m.matchedOn)}`);
        }
        for (const m of matches) if (!row.records[crm].has(m.id)) problems.push(`${number} → ${m.displayName}: holds another number`);
      }
    }
    expect(problems).toEqual([]);
  });
});
