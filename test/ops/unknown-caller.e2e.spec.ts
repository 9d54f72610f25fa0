import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CrmRegistry } from '../../src/crm/crm-registry.service';
import { EventQueueService } from '../../src/queue/event-queue.service';
import { logCallJobId } from '../../src/queue/queues';
import { eventually, newCallId, sendEvent, startTestApp, TEST_ADMIN_TOKEN, TestApp } from '../support/test-app';

/** `unknownCaller: create-contact` through the running connector, with the file CRM. */
describe('Unknown callers become CRM contacts when the mapping says so', () => {
  let t: TestApp;
  let dir: string;
  const csv = () => readFile(join(dir, 'contacts.csv'), 'utf8');
  const loggedLine = async (callId: string) => JSON.parse((await readFile(join(dir, 'calls.jsonl'), 'utf8')).split('\n').find((l) => l.includes(callId))!);
  const call = async (ext: string, from: string, name: string) => {
    const callId = newCallId();
    const params = { CallID: callId, CallerIDNum: from, CallerIDNam: name, CalledExtension: ext, CallFlow: 'IN' };
    await sendEvent(t.url, 'dial-in', params);
    await sendEvent(t.url, 'hangup', { ...params, CallStatus: 'NOANSWER' });
    await eventually(async () => ((await (await t.app.get(EventQueueService).callLog.getJob(logCallJobId(callId, ext)))?.getState()) === 'completed' ? true : undefined), 15_000, 'the call log');
    return callId;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vncc-unknown-'));
    writeFileSync(join(dir, 'contacts.csv'), 'id,name,company,phone,owner\nc-001,Jane Roe,Acme Corp,(555) 123-4567,\n');
    writeFileSync(
      join(dir, 'connector.yaml'),
      `calls: { hangupSettleMs: 20 }
connections:
  demo: { type: file, contactsCsv: contacts.csv, callLogFile: calls.jsonl }
mappings:
  defaults: { connection: demo, country: US, owner: { id: agent-1 }, actions: { unknownCaller: create-contact } }
  extensions:
    "0003*299": { actions: { unknownCaller: log-without-contact } }
`,
    );
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml') });
  });
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates one contact for the caller and logs the call against it; the next call finds that contact', async () => {
    const first = await call('0003*210', '0013125550000', 'ACME DESK');
    const logged = await loggedLine(first);
    expect(logged.contactId).toMatch(/^new-vn-/);
    expect((await csv()).split('\n').filter((l) => l.includes('+13125550000'))).toEqual([`"${logged.contactId}","ACME DESK","","+13125550000","agent-1"`]);
    const recent = (await (await fetch(`${t.url}/admin/calls/recent?limit=10`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).json()) as any;
    expect(recent.calls.find((c: any) => c.callId === first).log).toMatchObject({ status: 'logged', matchId: logged.contactId });

    const second = await call('0003*211', '+1 312 555 0000', 'ACME DESK');
    expect((await loggedLine(second)).contactId).toBe(logged.contactId);
    expect((await csv()).split('\n').filter((l) => l.includes('+13125550000'))).toHaveLength(1);
    expect(t.logs.filter((l) => l.event === 'crm.contact_created')).toHaveLength(1);
  });

  it('known callers and extensions set to log-without-contact create nothing', async () => {
    const before = await csv();
    expect((await loggedLine(await call('0003*210', '0015551234567', 'J ROE'))).contactId).toBe('c-001');
    expect((await loggedLine(await call('0003*299', '0014155550100', 'SOMEONE'))).contactId).toBeUndefined();
    expect(await csv()).toBe(before);
  });

  it('a retry with the same key returns the contact it created instead of adding another', async () => {
    const provider = t.app.get(CrmRegistry).get('demo');
    const input = { key: 'vn-retry-0003x2a210', number: '+14155550199', name: 'Retry Test' };
    const [a, b] = [await provider.createContact!(input), await provider.createContact!(input)];
    expect(b).toEqual(a);
    expect((await csv()).split('\n').filter((l) => l.includes('+14155550199'))).toHaveLength(1);
  });
});
