import { readFile, rm } from 'node:fs/promises';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RedisClient } from '../src/redis/redis-connection';
import { CallStateService } from '../src/calls/call-state.service';
import { CallUpdate } from '../src/calls/call-update.publisher';
import { eventually, newCallId, sendEvent, startTestApp, TestApp, subscribeUpdates } from './support/test-app';

/**
 * The whole path with the file provider: events in over HTTP, card updates out on pub/sub,
 * calls logged once in the CRM's log file.
 */
describe('Pop and log pipeline (file CRM)', () => {
  let t: TestApp;
  let dir: string;
  let sub: RedisClient;
  const updates: CallUpdate[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vncc-'));
    const csv = await readFile(resolve(__dirname, '../config/contacts.csv'), 'utf8');
    writeFileSync(join(dir, 'contacts.csv'), csv);
    writeFileSync(
      join(dir, 'connector.yaml'),
      `calls: { hangupSettleMs: 100 }
connections:
  demo: { type: file, contactsCsv: contacts.csv, callLogFile: calls.jsonl, country: US }
mappings:
  organisations:
    "0003*": { connection: demo, country: US, owner: { id: team-3 } }
  extensions:
    "0003*210": { owner: { id: agent-210 } }
    "0003*299": { actions: { unknownCaller: ignore, logMissed: false } }
`,
    );
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml') });
    sub = await subscribeUpdates(t.prefix, updates);
  });
  afterAll(async () => {
    sub.disconnect();
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  const logLines = async () =>
    (await readFile(join(dir, 'calls.jsonl'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  const inbound = (callId: string, ext = '0003*210', from = '0015551234567') => ({ CallID: callId, CallerIDNum: from, CallerIDNam: 'J ROE', CalledExtension: ext, CallFlow: 'IN' });

  it('a Dial-In pops the contact stored as (555) 123-4567 for 0015551234567, and the Hangup logs it once with the owner', async () => {
    const id = newCallId();
    await sendEvent(t.url, 'dial-in', { ...inbound(id), CallStatus: 'CALLING' });
    const pop = await eventually(() => updates.find((u) => u.record.callId === id && u.event === 'dial-in'), 10_000, 'the pop');
    expect(pop.lookup).toMatchObject({ status: 'done', connection: 'demo', matches: [{ id: 'c-001', displayName: 'Jane Roe', company: 'Acme Corp' }] });
    expect(pop.record.extension).toBe('0003*210');

    await sendEvent(t.url, 'answer-in', inbound(id));
    await sendEvent(t.url, 'hangup', { ...inbound(id), CallStatus: 'ANSWER' });
    await sendEvent(t.url, 'hangup', { ...inbound(id), CallStatus: 'ANSWER' }, { method: 'POST' });
    const logged = await eventually(async () => (await logLines()).find((l) => l.callId === id), 10_000, 'the call log line');
    expect(logged).toMatchObject({ contactId: 'c-001', ownerId: 'agent-210', direction: 'inbound', outcome: 'answered' });
    expect(logged.subject).toBe('Inbound call from Jane Roe (answered)');
    const withActivity = await eventually(() => updates.find((u) => u.record.callId === id && u.activity), 10_000, 'the activity update');
    expect(withActivity.activity).toMatchObject({ connection: 'demo', id: logged.id });
    await new Promise((r) => setTimeout(r, 300));
    expect((await logLines()).filter((l) => l.callId === id)).toHaveLength(1);
  });

  it('an unknown caller is logged without a contact, owned by the organisation rule', async () => {
    const id = newCallId();
    await sendEvent(t.url, 'dial-in', inbound(id, '0003*211', '0013125550000'));
    await sendEvent(t.url, 'hangup', { ...inbound(id, '0003*211', '0013125550000'), CallStatus: 'NOANSWER' });
    const logged = await eventually(async () => (await logLines()).find((l) => l.callId === id), 10_000, 'the call log line');
    expect(logged).toMatchObject({ ownerId: 'team-3', outcome: 'missed' });
    expect(logged.contactId).toBeUndefined();
    const pop = updates.find((u) => u.record.callId === id && u.event === 'dial-in');
    expect(pop?.lookup).toMatchObject({ status: 'done', matches: [] });
  });

  it('what the mapping says not to log is not logged, and the record says why', async () => {
    const id = newCallId();
    await sendEvent(t.url, 'dial-in', inbound(id, '0003*299'));
    await sendEvent(t.url, 'hangup', { ...inbound(id, '0003*299'), CallStatus: 'BUSY' });
    const calls = t.app.get(CallStateService);
    const log = await eventually(async () => (await calls.annotations(id, '0003*299')).log as { status: string; reason: string } | undefined, 10_000, 'the log annotation');
    expect(log).toMatchObject({ status: 'skipped', reason: 'logMissed is off' });
    expect((await logLines()).some((l) => l.callId === id)).toBe(false);
  });

  it('an unmapped extension is skipped, not an error', async () => {
    const id = newCallId();
    await sendEvent(t.url, 'dial-in', inbound(id, '0009*100'));
    await sendEvent(t.url, 'hangup', { ...inbound(id, '0009*100'), CallStatus: 'ANSWER' });
    const calls = t.app.get(CallStateService);
    const log = await eventually(async () => (await calls.annotations(id, '0009*100')).log as { reason: string } | undefined, 10_000, 'the log annotation');
    expect(log.reason).toBe('extension not mapped to a CRM connection');
    const pop = updates.find((u) => u.record.callId === id);
    expect(pop?.lookup).toMatchObject({ status: 'skipped', reason: 'extension not mapped to a CRM connection' });
  });
});
