import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeIdPart } from '../../src/ingest/call-event';
import { EventQueueService } from '../../src/queue/event-queue.service';
import { logCallJobId } from '../../src/queue/queues';
import { FakeHubSpot, startFakeHubSpot } from '../fakes/fake-hubspot';
import { eventually, newCallId, sendEvent, startTestApp, TEST_ADMIN_TOKEN, TestApp } from '../support/test-app';

/**
 * The ops side of a real CRM connection, against the fake HubSpot through the running connector:
 * owners named by e-mail, what ops see when the CRM refuses (readiness, admin lookup, metrics),
 * and recovering a call that failed because of the mapping.
 */
describe('Ops with a HubSpot connection', () => {
  let hs: FakeHubSpot;
  let t: TestApp;
  let dir: string;

  beforeAll(async () => {
    hs = await startFakeHubSpot();
    hs.addOwner({ id: '55', email: 'carol@example.com' });
    hs.addContact({ firstname: 'Jane', lastname: 'Roe', company: 'Acme', phone: '(555) 123-4567' });
    dir = mkdtempSync(join(tmpdir(), 'vncc-hsops-'));
    writeFileSync(
      join(dir, 'connector.yaml'),
      `calls: { hangupSettleMs: 50 }
workers: { callLogAttempts: 2 }
connections:
  hs: { type: hubspot, basePath: "${hs.url}", auth: { flow: private-app, tokenEnv: HS_TOKEN } }
  hsbad: { type: hubspot, basePath: "${hs.url}", auth: { flow: private-app, tokenEnv: HS_BAD_TOKEN } }
mappings:
  organisations:
    "0003*": { connection: hs, country: US, owner: { email: team@example.com } }
    "0005*": { connection: hs, country: US, owner: { email: Carol@Example.com } }
`,
    );
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), HS_TOKEN: 'pat-test-token', HS_BAD_TOKEN: 'pat-revoked' });
  });
  afterAll(async () => {
    await t?.close();
    await hs?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const answered = async (callId: string, ext: string) => {
    const params = { CallID: callId, CallerIDNum: '0015551234567', CalledExtension: ext, CallFlow: 'IN' };
    await sendEvent(t.url, 'dial-in', params);
    await sendEvent(t.url, 'answer-in', params);
    await sendEvent(t.url, 'hangup', { ...params, CallStatus: 'ANSWER' });
  };
  const callsOf = (callId: string, _ext: string) => hs.calls().filter((c) => c.properties.voipnow_call_key === `vn-${escapeIdPart(callId)}`);
  const jobState = async (callId: string, ext: string) => (await t.app.get(EventQueueService).callLog.getJob(logCallJobId(callId, ext)))?.getState();
  const ownerRequests = (email: string) => hs.requests.filter((r) => r.path.startsWith('/crm/v3/owners') && r.query.get('email')?.toLowerCase() === email).length;
  const metrics = async () => (await fetch(`${t.url}/metrics`)).text();

  it('an owner e-mail no CRM user has: the call fails with a reason that says what to fix; after the fix a replay logs it exactly once', async () => {
    const id = newCallId();
    await answered(id, '0003*210');
    const failed = await eventually(
      async () => {
        const { body } = await admin('GET', '/admin/jobs/failed?queue=call-log');
        return body.jobs.find((j: any) => j.data.callId === id);
      },
      20_000,
      'the failed call-log job',
    );
    expect(failed.failedReason).toBe('hs: No CRM user with e-mail team@example.com in connection "hs" (owner in mappings.organisations.0003*): fix the mapping or the CRM user, then replay.');
    expect(failed.attemptsMade).toBe(1);
    expect(callsOf(id, '0003*210')).toHaveLength(0);
    const recent = await admin('GET', '/admin/calls/recent?limit=50');
    expect(recent.body.calls.find((c: any) => c.callId === id).log).toMatchObject({ status: 'failed', connection: 'hs', reason: expect.stringContaining('team@example.com') });
    expect(await metrics()).toMatch(/vncc_calls_total\{result="failed",reason="permanent CRM error"\} [1-9]/);

    hs.addOwner({ id: '91', email: 'team@example.com' });
    expect((await admin('POST', '/admin/jobs/failed/replay', { ids: [failed.id] })).body.replayed).toEqual([failed.id]);
    await eventually(async () => ((await jobState(id, '0003*210')) === 'completed' ? true : undefined), 20_000, 'the replayed job');
    expect(callsOf(id, '0003*210')).toHaveLength(1);
    expect(callsOf(id, '0003*210')[0].properties.hubspot_owner_id).toBe('91');
    // A second replay (of everything) finds nothing to do for this call.
    await admin('POST', '/admin/jobs/failed/replay', {});
    expect(callsOf(id, '0003*210')).toHaveLength(1);
  });

  it('a burst of calls for one owner e-mail costs one owners request, then none', async () => {
    const ids = Array.from({ length: 6 }, () => newCallId());
    await Promise.all(ids.map((id, i) => answered(id, `0005*2${i}0`)));
    for (const [i, id] of ids.entries()) {
      await eventually(async () => ((await jobState(id, `0005*2${i}0`)) === 'completed' ? true : undefined), 20_000, `call ${i}`);
      expect(callsOf(id, `0005*2${i}0`).map((c) => c.properties.hubspot_owner_id)).toEqual(['55']);
    }
    expect(ownerRequests('carol@example.com')).toBe(1);
    const later = newCallId();
    await answered(later, '0005*299');
    await eventually(async () => ((await jobState(later, '0005*299')) === 'completed' ? true : undefined), 20_000, 'the later call');
    expect(ownerRequests('carol@example.com')).toBe(1);
  });

  it('readiness stays 200 and reports each connection: one authenticated, one whose token HubSpot refuses', async () => {
    const res = await fetch(`${t.url}/health/ready`);
    const body = (await res.json()) as any;
    expect(res.status).toBe(200);
    expect(body.crm.hs).toMatchObject({ ok: true, detail: expect.stringContaining('portal') });
    expect(body.crm.hsbad).toMatchObject({ ok: false, detail: expect.stringMatching(/^auth: HubSpot 401/) });
  });

  it("the active configuration names the secrets' variables and holds none of their values", async () => {
    const { status, body } = await admin('GET', '/admin/config');
    expect(status).toBe(200);
    expect(body.config.connections.hs.auth).toEqual({ flow: 'private-app', tokenEnv: 'HS_TOKEN' });
    expect(JSON.stringify(body)).not.toMatch(/pat-test-token|pat-revoked/);
  });

  it('a test lookup the CRM refuses is a 502 naming the kind of failure, not a 500', async () => {
    const refused = await admin('POST', '/admin/lookup', { connection: 'hsbad', number: '0015551234567', fresh: true });
    expect(refused.status).toBe(502);
    expect(refused.body).toMatchObject({ kind: 'auth', message: expect.stringMatching(/^hsbad refused the lookup \(auth\): HubSpot 401/), query: { e164: '+15551234567' } });
    const ok = await admin('POST', '/admin/lookup', { connection: 'hs', number: '(555) 123-4567', country: 'US', fresh: true });
    expect(ok.body).toMatchObject({ cached: false, query: { e164: '+15551234567', national: '5551234567' }, matches: [{ displayName: 'Jane Roe', recordType: 'contact' }] });
  });

  it('metrics count CRM requests per connection, operation and result, with no numbers, CallIDs or e-mails as labels', async () => {
    const text = await metrics();
    expect(text).toMatch(/vncc_crm_request_duration_seconds_count\{connection="hs",operation="findOwner",result="ok"\} [1-9]/);
    expect(text).toMatch(/vncc_crm_request_duration_seconds_count\{connection="hs",operation="lookup",result="ok"\} [1-9]/);
    expect(text).toMatch(/vncc_crm_request_duration_seconds_count\{connection="hs",operation="logCall",result="ok"\} [1-9]/);
    expect(text).toMatch(/vncc_crm_request_duration_seconds_count\{connection="hsbad",operation="lookup",result="auth"\} [1-9]/);
    expect(text).toMatch(/vncc_job_duration_seconds_count\{queue="call-log",result="completed"\} [1-9]/);
    expect(text).toMatch(/vncc_job_duration_seconds_count\{queue="call-log",result="failed"\} [1-9]/);
    expect(text).not.toMatch(/5551234567|example\.com|0005\*2/);
  });
});
