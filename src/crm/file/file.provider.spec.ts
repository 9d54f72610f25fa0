import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { phoneQuery } from '../phone';
import { FileProvider } from './file.provider';

/** The file CRM's search, on a real CSV: every form of a number finds the same rows, in the file's order. */
describe('file CRM lookups', () => {
  let dir: string;
  let csv: string;
  let crm: FileProvider;
  const find = async (number: string) => (await crm.findContactsByPhone(phoneQuery(number, 'US')!)).map((m) => m.id);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vncc-file-crm-'));
    csv = join(dir, 'contacts.csv');
    writeFileSync(csv, 'id,name,company,phone,mobile\n' + 'c-1,Ann Lee,Acme,(555) 123-4567,\n' + 'c-2,Bob Roe,Acme,+1 555 987 6543,555-123-4567\n' + 'c-3,Cy Poe,Initech,,+44 20 7946 0958\n');
    crm = new FileProvider('demo', { contactsCsv: csv, callLogFile: join(dir, 'calls.jsonl'), country: 'US' });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("finds a number in any form VoipNow sends it, by phone or mobile, every match in the CSV's order", async () => {
    expect(await find('0015551234567')).toEqual(['c-1', 'c-2']);
    expect(await find('+15551234567')).toEqual(['c-1', 'c-2']);
    expect(await find('5551234567')).toEqual(['c-1', 'c-2']);
    expect(await find('00442079460958')).toEqual(['c-3']);
    expect(await find('0015550000000')).toEqual([]);
  });

  it("lookups that run together each get their own number's rows, and a changed file is read again", async () => {
    const together = await Promise.all(Array.from({ length: 20 }, (_, i) => find(i % 2 ? '0015559876543' : '0015550000000')));
    expect(together.filter((ids) => ids.join() === 'c-2')).toHaveLength(10);
    writeFileSync(csv, 'id,name,phone\nc-9,New Person,+1 555 000 0000\n');
    utimesSync(csv, new Date(), new Date(Date.now() + 5000)); // a new mtime even on a coarse clock
    expect(await find('0015550000000')).toEqual(['c-9']);
    expect(await find('0015559876543')).toEqual([]);
  });
});
