import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClient } from '../../src/redis/redis-connection';
import { CallStateService } from '../../src/calls/call-state.service';
import { CallUpdate } from '../../src/calls/call-update.publisher';
import { escapeIdPart } from '../../src/ingest/call-event';
import { EventQueueService } from '../../src/queue/event-queue.service';
import { logCallJobId } from '../../src/queue/queues';
import { FakeHubSpot, startFakeHubSpot } from '../fakes/fake-hubspot';
import { FakeRequest } from '../fakes/fake-server';
import { eventually, newCallId, sendEvent, startTestApp, TEST_ADMIN_TOKEN, TestApp, subscribeUpdates } from '../support/test-app';

/**
 * The whole connector against a fake HubSpot: events in over HTTP, real BullMQ workers and Redis,
 * the real @hubspot/api-client over HTTP. Each call is told apart in the fake by its key property.
 */
describe('HubSpot through the running connector', () => {
  let hs: FakeHubSpot;
  let t: TestApp;
  let dir: string;
  let sub: RedisClient;
  const updates: CallUpdate[] = [];
  let janeId: string;

  beforeAll(async () => {
    hs = await startFakeHubSpot();
    hs.addOwner({ id: '77', email: 'ann@example.com', firstName: 'Ann' });
    hs.addOwner({ id: '88', email: 'bob@example.com', firstName: 'Bob' });
    janeId = hs.addContact({ firstname: 'Jane', lastname: 'Roe', company: 'Acme', phone: '(555) 123-4567', hubspot_owner_id: '77' });
    dir = mkdtempSync(join(tmpdir(), 'vncc-hs-'));
    // hsq and hs1 are the same portal under other connection names: hsq's quota pause leaves hs
    // alone, and hs1 logs one call per request, so a fault injected for one call hits only that call.
    writeFileSync(
      join(dir, 'connector.yaml'),
      `calls: { hangupSettleMs: 50 }
workers: { callLogAttempts: 4 }
connections:
  hs: { type: hubspot, basePath: "${hs.url}", auth: { flow: private-app, tokenEnv: HS_TOKEN } }
  hsq: { type: hubspot, basePath: "${hs.url}", auth: { flow: private-app, tokenEnv: HS_TOKEN } }
  hs1: { type: hubspot, basePath: "${hs.url}", auth: { flow: private-app, tokenEnv: HS_TOKEN }, batch: { maxSize: 1 } }
mappings:
  organisations:
    "0003*": { connection: hs, country: US, owner: { id: "77" } }
    "0004*": { connection: hsq, country: US, owner: { id: "77" } }
    "0006*": { connection: hs1, country: US, owner: { id: "77" } }
  extensions:
    "0003*211": { owner: { email: bob@example.com } }
    "0003*299": { actions: { unknownCaller: ignore } }
    "0003*277": { actions: { unknownCaller: create-contact } }
`,
    );
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), HS_TOKEN: 'pat-test-token' });
    sub = await subscribeUpdates(t.prefix, updates);
  });
  afterAll(async () => {
    sub?.disconnect();
    await t?.close();
    await hs?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const inbound = (callId: string, ext = '0003*210', from = '0015551234567') => ({
    CallID: callId,
    CallerIDNum: from,
    CallerIDNam: 'J ROE',
    CalledDID: '+3222222222',
    CalledExtension: ext,
    CalledNumber: '+3222222222',
    CallFlow: 'IN',
  });
  const outbound = (callId: string, ext = '0003*210', to = '0015551234567') => ({ CallID: callId, CallerIDNum: ext, CallerExtension: ext, CalledNumber: to, CallFlow: 'OUT' });
  // One activity per customer call (callLogging: per-call), whatever extension it rang.
  const keyOf = (callId: string, _ext?: string) => `vn-${escapeIdPart(callId)}`;
  const callsOf = (callId: string, ext = '0003*210') => hs.calls().filter((c) => c.properties.voipnow_call_key === keyOf(callId, ext));
  /** A create (single, or batch) that carries this call. */
  const isCreateOf =
    (callId: string, ext = '0003*210') =>
    (r: FakeRequest) =>
      r.method === 'POST' &&
      (r.path === '/crm/v3/objects/calls' || r.path === '/crm/v3/objects/calls/batch/create') &&
      [r.body?.properties, ...(r.body?.inputs ?? []).map((i: { properties?: unknown }) => i.properties)].some((p) => p?.voipnow_call_key === keyOf(callId, ext));
  const queue = () => t.app.get(EventQueueService).callLog;
  const jobState = async (callId: string, ext = '0003*210') => (await queue().getJob(logCallJobId(callId, ext)))?.getState();
  /** Waits until the call-log job has finished, so a count taken afterwards is final. */
  const settled = (callId: string, ext = '0003*210') => eventually(async () => ((await jobState(callId, ext)) === 'completed' ? true : undefined), 25_000, `call-log job of ${callId} to complete`);
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  const recordOf = (callId: string, ext = '0003*210') => t.app.get(CallStateService).get(callId, ext);
  const searchesFor = (digits: string) => hs.requests.filter((r) => r.path === '/crm/v3/objects/contacts/search' && JSON.stringify(r.body).includes(digits)).length;
  const answered = async (callId: string, ext = '0003*210', from = '0015551234567') => {
    await sendEvent(t.url, 'dial-in', { ...inbound(callId, ext, from), CallStatus: 'CALLING' });
    await sendEvent(t.url, 'answer-in', inbound(callId, ext, from));
    await sendEvent(t.url, 'hangup', { ...inbound(callId, ext, from), CallStatus: 'ANSWER' });
  };

  it('a Dial-In for 0015551234567 and one for +15551234567 both pop the contact stored as (555) 123-4567, with its HubSpot URL', async () => {
    const url = `https://app.hubspot.com/contacts/4242/record/0-1/${janeId}`;
    const first = newCallId();
    await sendEvent(t.url, 'dial-in', { ...inbound(first), CallStatus: 'CALLING' });
    const pop1 = await eventually(() => updates.find((u) => u.record.callId === first && u.lookup?.status === 'done'), 10_000, 'the first pop');
    expect(pop1.lookup!.matches).toEqual([expect.objectContaining({ connection: 'hs', recordType: 'contact', id: janeId, displayName: 'Jane Roe', company: 'Acme', ownerId: '77', url })]);

    // Forget the cached lookup so the second form is searched in HubSpot, not served from Redis.
    const before = hs.count('POST', '/contacts/search');
    expect((await admin('DELETE', `/admin/lookup-cache?connection=hs&number=${encodeURIComponent('+15551234567')}`)).status).toBe(200);
    const second = newCallId();
    await sendEvent(t.url, 'dial-in', { ...inbound(second, '0003*210', '+15551234567'), CallStatus: 'CALLING' }, { method: 'POST' });
    const pop2 = await eventually(() => updates.find((u) => u.record.callId === second && u.lookup?.status === 'done'), 10_000, 'the second pop');
    expect(pop2.lookup!.matches).toEqual([expect.objectContaining({ id: janeId, url })]);
    expect(hs.count('POST', '/contacts/search')).toBe(before + 1);
  });

  it('an answered inbound call is logged once as a Call: properties, owner from the mapping, association to the contact', async () => {
    const id = newCallId();
    await answered(id);
    await sendEvent(t.url, 'hangup', { ...inbound(id), CallStatus: 'ANSWER' }, { method: 'POST' }); // redelivered
    await settled(id);
    const record = (await recordOf(id))!;
    expect(callsOf(id)).toHaveLength(1);
    const [call] = callsOf(id);
    expect(call.properties).toMatchObject({
      hs_timestamp: new Date(record.startedAt).toISOString(),
      hs_call_title: 'Inbound call from Jane Roe (answered)',
      hs_call_direction: 'INBOUND',
      hs_call_duration: String(record.talkSeconds! * 1000),
      hs_call_status: 'COMPLETED',
      hs_call_disposition: 'f240bbac-87c9-4f6e-bf70-924b57d47db7',
      hs_call_from_number: '0015551234567',
      hs_call_to_number: '+3222222222',
      hubspot_owner_id: '77',
    });
    expect(call.properties.hs_call_body).toContain(`VoipNow CallID: ${id}`);
    expect(call.associations).toEqual([{ to: { id: janeId }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 194 }] }]);
    const withActivity = await eventually(() => updates.find((u) => u.record.callId === id && u.activity), 10_000, 'the activity update');
    expect(withActivity.activity).toEqual({ connection: 'hs', id: call.id, url: `https://app.hubspot.com/contacts/4242/record/0-1/${janeId}` });
  });

  it('a missed call is logged once with no-answer status, owned by the user the mapping names by e-mail', async () => {
    const ownerLookups = hs.count('GET', '/crm/v3/owners');
    for (const id of [newCallId(), newCallId()]) {
      await sendEvent(t.url, 'dial-in', { ...inbound(id, '0003*211'), CallStatus: 'CALLING' });
      await sendEvent(t.url, 'hangup', { ...inbound(id, '0003*211'), CallStatus: 'NOANSWER' });
      await settled(id, '0003*211');
      expect(callsOf(id, '0003*211')).toHaveLength(1);
      const [call] = callsOf(id, '0003*211');
      expect(call.properties).toMatchObject({
        hs_call_direction: 'INBOUND',
        hs_call_status: 'NO_ANSWER',
        hs_call_duration: '0',
        hs_call_disposition: '73a0d17f-1163-4015-bdd5-ec830791da20',
        hubspot_owner_id: '88',
        hs_call_title: 'Inbound call from Jane Roe (missed)',
      });
      expect(call.associations).toEqual([{ to: { id: janeId }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 194 }] }]);
    }
    // The e-mail is resolved through the owners API once, then remembered.
    expect(hs.count('GET', '/crm/v3/owners') - ownerLookups).toBe(1);
  });

  it('an outbound call is logged once as OUTBOUND to the number dialled, associated with the contact', async () => {
    const id = newCallId();
    await sendEvent(t.url, 'dial-out', { ...outbound(id), CallStatus: 'CALLING' });
    await sendEvent(t.url, 'answer-out', outbound(id));
    await sendEvent(t.url, 'hangup', { ...outbound(id), CallStatus: 'ANSWER' });
    await settled(id);
    expect(callsOf(id)).toHaveLength(1);
    const [call] = callsOf(id);
    expect(call.properties).toMatchObject({
      hs_call_direction: 'OUTBOUND',
      hs_call_status: 'COMPLETED',
      hs_call_to_number: '0015551234567',
      hs_call_from_number: '0003*210',
      hubspot_owner_id: '77',
      hs_call_title: 'Outbound call to Jane Roe (answered)',
    });
    expect(call.associations).toEqual([{ to: { id: janeId }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 194 }] }]);
  });

  it('429 (with and without Retry-After), 503, a dropped connection and a lost create response each still end in exactly one Call', async () => {
    const ext = '0006*210';
    const faults = {
      retryAfter: { status: 429, headers: { 'Retry-After': '1' }, body: { status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', policyName: 'SECONDLY' } },
      // HubSpot's rolling-window 429 carries no Retry-After, only the window's length.
      rolling: {
        status: 429,
        headers: { 'X-HubSpot-RateLimit-Interval-Milliseconds': '10000', 'X-HubSpot-RateLimit-Max': '100', 'X-HubSpot-RateLimit-Remaining': '0' },
        body: { status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING' },
      },
      unavailable: { status: 503, body: { status: 'error', message: 'Service Unavailable' } },
      dropped: { drop: true },
      lostResponse: { drop: true, afterCommit: true },
    };
    type Name = keyof typeof faults;
    const ids = Object.fromEntries(Object.keys(faults).map((name) => [name, newCallId()])) as Record<Name, string>;
    // Counts the requests each fault was applied to (its predicate is only asked while it is armed).
    const hits = Object.fromEntries(Object.keys(faults).map((name) => [name, 0])) as Record<Name, number>;
    for (const [name, fault] of Object.entries(faults)) {
      const isCreate = isCreateOf(ids[name as Name], ext);
      hs.inject({ ...fault, match: (r) => isCreate(r) && ++hits[name as Name] > 0 });
    }
    // All at once: the slowest (the 10 s window) sets the test's length.
    await Promise.all(Object.values(ids).map((id) => answered(id, ext)));
    await Promise.all(Object.values(ids).map((id) => settled(id, ext)));
    for (const [name, id] of Object.entries(ids)) {
      expect({ name, faultApplied: hits[name as Name], calls: callsOf(id, ext).length }).toEqual({ name, faultApplied: 1, calls: 1 });
    }
    // The lost response was a create HubSpot performed: the retry found it instead of creating again.
    expect(hs.requests.filter(isCreateOf(ids.lostResponse, ext))).toHaveLength(1);
  }, 40_000);

  it('a batch create whose response is lost is not created again: each call of the batch ends in exactly one Call', async () => {
    const ids = [newCallId(), newCallId(), newCallId()];
    const inBatch = ids.map((id) => isCreateOf(id));
    const lost: FakeRequest[] = [];
    hs.inject({ drop: true, afterCommit: true, match: (r) => inBatch.some((f) => f(r)) && lost.push(r) > 0 });
    // Hung up together, the three usually share one batch; whichever batch the fault hit, its calls were created.
    await Promise.all(ids.map((id) => answered(id)));
    await Promise.all(ids.map((id) => settled(id)));
    expect(lost.map((r) => r.path)).toEqual(['/crm/v3/objects/calls/batch/create']);
    expect(ids.map((id) => callsOf(id).length)).toEqual([1, 1, 1]);
  }, 40_000);

  it('an unknown caller is logged without a contact (log-without-contact), or not at all (ignore)', async () => {
    const logged = newCallId();
    const ignored = newCallId();
    await answered(logged, '0003*210', '0013125550000');
    await answered(ignored, '0003*299', '0013125550000');
    await settled(logged);
    await settled(ignored, '0003*299');
    expect(callsOf(logged)).toHaveLength(1);
    expect(callsOf(logged)[0].associations).toEqual([]);
    expect(callsOf(logged)[0].properties).toMatchObject({ hs_call_title: 'Inbound call from +1 312 555 0000 (answered)', hubspot_owner_id: '77' });
    expect(callsOf(ignored, '0003*299')).toHaveLength(0);
    const note = await t.app.get(CallStateService).annotations(ignored, '0003*299');
    expect(note.log).toMatchObject({ status: 'skipped', reason: 'unknown caller (unknownCaller: ignore)' });
  });

  it("an unknown caller becomes one contact (create-contact), owned by the mapping's owner; the call and the next one from that number are logged against it", async () => {
    const [first, second] = [newCallId(), newCallId()];
    const from = '0013125557777';
    await answered(first, '0003*277', from);
    await settled(first, '0003*277');
    const created = hs.contacts.filter((c) => c.properties.voipnow_caller_number === '+13125557777');
    expect(created).toHaveLength(1);
    expect(created[0].properties).toMatchObject({ phone: '+13125557777', lastname: 'J ROE', hubspot_owner_id: '77' });
    expect(callsOf(first, '0003*277')[0].associations).toEqual([expect.objectContaining({ to: { id: created[0].id } })]);
    await answered(second, '0003*277', from);
    await settled(second, '0003*277');
    expect(hs.contacts.filter((c) => c.properties.phone === '+13125557777')).toHaveLength(1);
    expect(callsOf(second, '0003*277')[0].associations).toEqual([expect.objectContaining({ to: { id: created[0].id } })]);
  });

  it('a DAILY 429 pauses the connection without losing the job; after an admin resume the call is logged exactly once', async () => {
    const ext = '0004*210';
    const first = newCallId();
    const second = newCallId();
    hs.inject({
      match: isCreateOf(first, ext),
      status: 429,
      headers: { 'X-HubSpot-RateLimit-Daily': '250000', 'X-HubSpot-RateLimit-Daily-Remaining': '0' },
      body: { status: 'error', message: 'You have reached your daily limit.', errorType: 'RATE_LIMIT', policyName: 'DAILY' },
    });
    await answered(first, ext);
    const ready = await eventually(
      async () => {
        const body = (await (await fetch(`${t.url}/health/ready`)).json()) as { crm: Record<string, { pausedUntil?: string; pauseReason?: string }> };
        return body.crm.hsq?.pausedUntil ? body : undefined;
      },
      10_000,
      'readiness to report the pause',
    );
    expect(ready.crm.hsq.pauseReason).toMatch(/daily limit/);
    // Until just after the next UTC midnight, when HubSpot's daily count restarts: at least a minute off.
    expect(Date.parse(ready.crm.hsq.pausedUntil!)).toBeGreaterThan(Date.now() + 30_000);
    expect(ready.crm.hs?.pausedUntil).toBeUndefined();
    expect(await jobState(first, ext)).toBe('delayed');

    // A call that ends during the pause waits too, without spending requests on HubSpot.
    const requestsBefore = hs.requests.length;
    await answered(second, ext);
    await eventually(async () => ((await jobState(second, ext)) === 'delayed' ? true : undefined), 10_000, 'the second job to be held');
    expect(hs.requests.slice(requestsBefore).filter((r) => r.path.startsWith('/crm/v3/objects/calls'))).toEqual([]);
    expect(callsOf(first, ext)).toHaveLength(0);

    expect((await admin('POST', '/admin/connections/hsq/resume')).status).toBe(200);
    await settled(first, ext);
    await settled(second, ext);
    expect(callsOf(first, ext)).toHaveLength(1);
    expect(callsOf(second, ext)).toHaveLength(1);
    const body = (await (await fetch(`${t.url}/health/ready`)).json()) as { crm: Record<string, { pausedUntil?: string }> };
    expect(body.crm.hsq.pausedUntil).toBeUndefined();
  });

  it("one call costs one contact search: the Answer, the Hangup and the call log reuse the Dial-In's lookup", async () => {
    const id = newCallId();
    const contact = hs.addContact({ firstname: 'Solo', lastname: 'Caller', phone: '(555) 200-0001' });
    await answered(id, '0003*210', '0015552000001');
    await settled(id);
    expect(callsOf(id)).toHaveLength(1);
    expect(callsOf(id)[0].associations).toEqual([expect.objectContaining({ to: { id: contact } })]);
    expect(searchesFor('5552000001')).toBe(1);
    // Three pops (Dial-In, Answer, Hangup) were published, all with the match.
    const pops = updates.filter((u) => u.record.callId === id && u.lookup);
    expect(pops.map((u) => u.event).sort()).toEqual(['answer-in', 'dial-in', 'hangup']);
    expect(pops.every((u) => u.lookup!.matches[0]?.id === contact)).toBe(true);
  });
});
