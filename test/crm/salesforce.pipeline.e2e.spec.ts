import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClient } from '../../src/redis/redis-connection';
import { CallUpdate } from '../../src/calls/call-update.publisher';
import { FakeSalesforce, startFakeSalesforce } from '../fakes/fake-salesforce';
import { eventually, newCallId, sendEvent, startTestApp, TestApp, subscribeUpdates } from '../support/test-app';

/**
 * The whole path with a Salesforce connection: VoipNow events over HTTP, the pop found through
 * SOSL, the owner resolved by e-mail, and the call logged as exactly one Task.
 */
describe('Pop and log pipeline (Salesforce through jsforce)', () => {
  let t: TestApp;
  let sf: FakeSalesforce;
  let dir: string;
  let sub: RedisClient;
  let contact: string;
  let ann: string;
  const updates: CallUpdate[] = [];

  beforeAll(async () => {
    sf = await startFakeSalesforce({ clientId: 'client-1', clientSecret: 'secret-1', refreshTokens: ['refresh-e2e'] });
    ann = sf.add('User', { Name: 'Ann Agent', Email: 'ann@acme.example', IsActive: true });
    const account = sf.add('Account', { Name: 'Acme Corp' });
    contact = sf.add('Contact', { Name: 'Jane Roe', AccountId: account, Phone: '(555) 123-4567', OwnerId: ann });
    dir = mkdtempSync(join(tmpdir(), 'vncc-sf-'));
    writeFileSync(
      join(dir, 'connector.yaml'),
      `calls: { hangupSettleMs: 100 }
connections:
  sales:
    type: salesforce
    loginUrl: ${sf.url}
    auth: { flow: refresh-token, clientId: client-1, clientSecretEnv: SF_E2E_SECRET, refreshTokenEnv: SF_E2E_REFRESH }
mappings:
  organisations:
    "0003*": { connection: sales, country: US, owner: { email: Ann@Acme.example } }
  extensions:
    "0003*277": { actions: { unknownCaller: create-contact } }
`,
    );
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), SF_E2E_SECRET: 'secret-1', SF_E2E_REFRESH: 'refresh-e2e' });
    sub = await subscribeUpdates(t.prefix, updates);
  });
  afterAll(async () => {
    sub.disconnect();
    await t.close();
    await sf.close();
    await rm(dir, { recursive: true, force: true });
  });

  const inbound = (callId: string) => ({ CallID: callId, CallerIDNum: '0015551234567', CallerIDNam: 'J ROE', CalledExtension: '0003*210', CallFlow: 'IN' });
  const tasksOf = (callId: string) => sf.tasks().filter((task) => String(task.Description).includes(`VoipNow CallID: ${callId}\n`) || String(task.Description).endsWith(`VoipNow CallID: ${callId}`));

  it('Dial-In → Answer → Hangup pops the contact and logs exactly one Task with its WhoId and the owner', async () => {
    const id = newCallId();
    await sendEvent(t.url, 'dial-in', { ...inbound(id), CallStatus: 'CALLING' });
    const pop = await eventually(() => updates.find((u) => u.record.callId === id && u.event === 'dial-in' && u.lookup?.status === 'done'), 10_000, 'the pop');
    expect(pop.lookup).toMatchObject({
      connection: 'sales',
      matches: [{ recordType: 'Contact', id: contact, displayName: 'Jane Roe', company: 'Acme Corp', url: `${sf.url}/lightning/r/Contact/${contact}/view` }],
    });

    await sendEvent(t.url, 'answer-in', inbound(id));
    await sendEvent(t.url, 'hangup', { ...inbound(id), CallStatus: 'ANSWER' });
    const [task] = await eventually(() => (tasksOf(id).length ? tasksOf(id) : undefined), 15_000, 'the Task');
    expect(task).toMatchObject({
      WhoId: contact,
      OwnerId: ann,
      TaskSubtype: 'Call',
      CallType: 'Inbound',
      CallDisposition: 'Answered',
      Status: 'Completed',
      Subject: 'Inbound call from Jane Roe (answered)',
    });
    await eventually(() => updates.find((u) => u.record.callId === id && u.activity?.id === task.Id), 10_000, 'the activity update');
    // The Dial-In's lookup served the Hangup: one search for the whole call.
    expect(sf.requests.filter((r) => r.path.endsWith('/search') && decodeURIComponent(r.query.get('q') ?? '').includes('5551234567'))).toHaveLength(1);
    expect(tasksOf(id)).toHaveLength(1);
  });

  it('a 429 and then a lost answer on the (batched) create still end in one Task', async () => {
    const id = newCallId();
    sf.inject({
      method: 'POST',
      pathIncludes: '/composite/sobjects',
      status: 429,
      headers: { 'Retry-After': '1' },
      body: [{ message: 'Too many requests', errorCode: 'REQUEST_LIMIT_EXCEEDED_RATE' }],
    });
    sf.inject({ method: 'POST', pathIncludes: '/composite/sobjects', afterCommit: true, drop: true });
    await sendEvent(t.url, 'dial-in', inbound(id));
    await sendEvent(t.url, 'hangup', { ...inbound(id), CallStatus: 'NOANSWER' });
    const done = await eventually(() => updates.find((u) => u.record.callId === id && u.activity), 30_000, 'the logged call');
    const tasks = tasksOf(id);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ Id: done.activity!.id, WhoId: contact, CallDisposition: 'No answer', CallDurationInSeconds: 0 });
    // Call logging goes through the batcher: sObject Collections creates.
    expect(sf.count('POST', '/composite/sobjects')).toBeGreaterThanOrEqual(3);
  });

  it("an unknown caller becomes one Lead (create-contact), owned by the mapping's owner; the call and the next one from that number are logged against it", async () => {
    const from = { CallerIDNum: '0013125558888', CalledExtension: '0003*277' };
    const leads = () => sf.objects.filter((o) => o.type === 'Lead' && o.Phone === '+13125558888');
    const ids = [newCallId(), newCallId()];
    for (const id of ids) {
      await sendEvent(t.url, 'dial-in', { ...inbound(id), ...from, CallStatus: 'CALLING' });
      await sendEvent(t.url, 'hangup', { ...inbound(id), ...from, CallStatus: 'ANSWER' });
      await eventually(() => (tasksOf(id).length ? true : undefined), 15_000, 'the Task');
    }
    expect(leads()).toHaveLength(1);
    expect(leads()[0]).toMatchObject({ LastName: 'J ROE', Company: 'Unknown (VoipNow caller)', OwnerId: ann });
    expect(ids.map((id) => tasksOf(id).map((task) => task.WhoId))).toEqual([[leads()[0].Id], [leads()[0].Id]]);
  });
});
