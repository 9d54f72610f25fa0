import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallLogInput, CrmMatch } from '../../src/crm/crm-provider';
import { fileProvider } from '../../src/crm/file';
import { FileProvider } from '../../src/crm/file/file.provider';
import { answeredCall } from '../support/call-records';

/** The file CRM's desk writes, on a real call-log file: what a person opening the file reads. */
describe('file CRM desk writes', () => {
  let dir: string;
  let log: string;
  const make = () => new FileProvider('demo', { contactsCsv: join(dir, 'contacts.csv'), callLogFile: log, country: 'US' });
  const lines = () =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  const contact = (id: string): CrmMatch => ({ connection: 'demo', recordType: 'contact', id, displayName: id });
  const input = (key: string, over: Partial<CallLogInput> = {}): CallLogInput => ({
    key,
    record: answeredCall({ callId: key }),
    match: contact('c-1'),
    subject: `Call ${key}`,
    description: 'Talk time: 60 s',
    ...over,
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vncc-file-writes-'));
    log = join(dir, 'calls.jsonl');
    writeFileSync(join(dir, 'contacts.csv'), 'id,name,phone\nc-1,Ann Lee,+15551234567\nc-2,Bob Roe,+15559876543\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("offers the default dispositions as plain labels, and writes the chosen one on the call's line", async () => {
    expect(fileProvider.defaultDispositions?.map((d) => d.value)).toEqual(['Connected', 'Left voicemail', 'No answer', 'Busy', 'Wrong number', 'Follow-up needed']);
    expect(fileProvider.capabilities).toMatchObject({ updateCall: true, createTask: true });
    await make().logCall(input('k1', { disposition: 'Left voicemail' }));
    await make().logCall(input('k2'));
    expect(lines()).toEqual([expect.objectContaining({ type: 'call', key: 'k1', disposition: 'Left voicemail' }), expect.not.objectContaining({ disposition: expect.anything() })]);
  });

  it("an update rewrites that call's line in place: the other lines are untouched and no temporary file is left", async () => {
    const crm = make();
    await crm.logCall(input('k1'));
    const { id } = await crm.logCall(input('k2'));
    await crm.logCall(input('k3'));
    const [before1, , before3] = readFileSync(log, 'utf8').split('\n');
    await crm.updateCall(id, { subject: 'Call from Bob', description: 'Wants a quote\n\nTalk time: 60 s', disposition: 'Follow-up needed', match: contact('c-2') });
    const text = readFileSync(log, 'utf8').split('\n');
    expect(text).toHaveLength(4);
    expect([text[0], text[2]]).toEqual([before1, before3]);
    expect(JSON.parse(text[1])).toMatchObject({
      id,
      key: 'k2',
      subject: 'Call from Bob',
      description: 'Wants a quote\n\nTalk time: 60 s',
      disposition: 'Follow-up needed',
      contactId: 'c-2',
      updatedAt: expect.any(String),
    });
    expect(readdirSync(dir).sort()).toEqual(['calls.jsonl', 'contacts.csv']);
  });

  it('the same update applied twice leaves the file exactly as one application did', async () => {
    const crm = make();
    const { id } = await crm.logCall(input('k1'));
    const patch = { description: 'Call back Monday', disposition: 'Busy', match: contact('c-2') };
    await crm.updateCall(id, patch);
    const once = readFileSync(log, 'utf8');
    await make().updateCall(id, patch);
    expect(readFileSync(log, 'utf8')).toBe(once);
  });

  it('an update of a call the file does not have, or of a task, fails as permanent', async () => {
    const crm = make();
    await expect(crm.updateCall('call-9-nope', { subject: 'x' })).rejects.toMatchObject({ kind: 'permanent' });
    const task = await crm.createTask({ key: 'k1~follow-up', subject: 's', description: 'd', dueAt: Date.now() });
    await expect(crm.updateCall(task.id, { subject: 'x' })).rejects.toMatchObject({ kind: 'permanent' });
  });

  it('a follow-up task is one line per key, also for a restarted connector, with its due date and contact', async () => {
    const task = {
      key: 'k1~follow-up',
      subject: 'Call back Ann',
      description: 'Missed call from +15551234567',
      match: contact('c-1'),
      ownerId: 'ann@example.com',
      dueAt: Date.parse('2026-11-24T22:00:00Z'),
    };
    const first = await make().createTask(task);
    const again = await make().createTask(task);
    expect(again).toEqual({ id: first.id, created: false });
    expect(lines()).toEqual([
      {
        type: 'task',
        id: first.id,
        key: task.key,
        createdAt: expect.any(String),
        dueDate: '2026-11-24',
        status: 'not-started',
        subject: task.subject,
        description: task.description,
        contactId: 'c-1',
        ownerId: 'ann@example.com',
      },
    ]);
  });

  it('updates and new calls running together, through two providers for the same file (a config reload), lose no line', async () => {
    const [a, b] = [make(), make()];
    const first = await a.logCall(input('k0'));
    await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? b.updateCall(first.id, { description: `note ${i}` }) : (i % 2 ? a : b).logCall(input(`k${i + 1}`)))));
    const all = lines();
    expect(new Set(all.map((l) => l.key)).size).toBe(all.length);
    expect(all).toHaveLength(1 + 20);
    expect(all[0]).toMatchObject({ key: 'k0', description: expect.stringMatching(/^note \d+$/) });
  });

  it('a torn last line from a crash stays as it was, and the line before it can still be updated', async () => {
    const crm = make();
    const { id } = await crm.logCall(input('k1'));
    await appendFile(log, '{"type":"call","id":"call-2-k2","ke');
    await crm.updateCall(id, { disposition: 'Connected' });
    const text = readFileSync(log, 'utf8');
    expect(text.endsWith('\n{"type":"call","id":"call-2-k2","ke')).toBe(true);
    expect(JSON.parse(text.split('\n')[0])).toMatchObject({ id, disposition: 'Connected' });
  });

  it('after a line torn by a crash, the next call starts a fresh line, so it and the calls before it are still found', async () => {
    const { id } = await make().logCall(input('k1'));
    await appendFile(log, '{"type":"call","id":"call-2-k2","ke');
    const second = await make().logCall(input('k2'));
    expect(second.created).toBe(true);
    const text = readFileSync(log, 'utf8').split('\n');
    expect(text[1]).toBe('{"type":"call","id":"call-2-k2","ke');
    expect(JSON.parse(text[2])).toMatchObject({ key: 'k2' });
    const restarted = make();
    await expect(restarted.logCall(input('k1'))).resolves.toEqual({ id, created: false });
    await expect(restarted.logCall(input('k2'))).resolves.toEqual({ id: second.id, created: false });
  });
});
