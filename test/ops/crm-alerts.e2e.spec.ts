import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeHubSpot, startFakeHubSpot } from '../fakes/fake-hubspot';
import { eventually, newCallId, sendEvent, startTestApp, TEST_ADMIN_TOKEN, TestApp } from '../support/test-app';

/**
 * A CRM credential that stops working, or a paused connection, must reach whoever watches: in
 * readiness (in plain words), in a metric an alert rule can use, and as one log line.
 */
describe('Alerts for a failing or paused CRM connection', () => {
  let hs: FakeHubSpot;
  let t: TestApp;
  let dir: string;
  const ready = async () => (await (await fetch(`${t.url}/health/ready`)).json()) as { crm: Record<string, { ok: boolean; pausedUntil?: string }>; problems?: string[]; failedCallLogs?: number };
  const metrics = async () => (await fetch(`${t.url}/metrics`)).text();

  beforeAll(async () => {
    hs = await startFakeHubSpot();
    dir = mkdtempSync(join(tmpdir(), 'vncc-alerts-'));
    writeFileSync(
      join(dir, 'connector.yaml'),
      `calls: { hangupSettleMs: 0 }
workers: { callLogAttempts: 1 }
connections:
  good: { type: hubspot, basePath: "${hs.url}", portalId: 1, uiDomain: app.hubspot.com, auth: { flow: private-app, tokenEnv: HS_TOKEN } }
  revoked: { type: hubspot, basePath: "${hs.url}", auth: { flow: private-app, tokenEnv: HS_REVOKED_TOKEN } }
mappings:
  defaults: { connection: good, country: US }
  organisations:
    "0005*": { connection: revoked, country: US }
`,
    );
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), HS_TOKEN: 'pat-test-token', HS_REVOKED_TOKEN: 'pat-revoked' });
  });
  afterAll(async () => {
    await t.close();
    await hs.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a refused credential shows in readiness, in vncc_crm_connection_up and in one log line', async () => {
    const body = await ready();
    expect(body.crm.revoked.ok).toBe(false);
    expect(body.crm.good.ok).toBe(true);
    expect(body.problems?.join('\n')).toMatch(/"revoked" fails its health check.*credentials/);
    expect(body.failedCallLogs).toBe(0);
    const text = await metrics();
    expect(text).toMatch(/vncc_crm_connection_up\{connection="revoked"\} 0/);
    expect(text).toMatch(/vncc_crm_connection_up\{connection="good"\} 1/);
    await ready();
    const lines = t.logs.filter((l) => l.event === 'crm.unhealthy');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', connection: 'revoked' });
  });

  it('a paused connection shows in readiness, in vncc_crm_connection_paused and in one log line', async () => {
    const res = await fetch(`${t.url}/admin/connections/good/pause`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{"minutes":5}',
    });
    expect(res.status).toBe(200);
    const body = await ready();
    expect(body.crm.good.pausedUntil).toBeTruthy();
    expect(body.problems?.join('\n')).toMatch(/"good" is paused until/);
    expect(await metrics()).toMatch(/vncc_crm_connection_paused\{connection="good"\} 1/);
    await ready();
    expect(t.logs.filter((l) => l.event === 'crm.connection_paused')).toHaveLength(1);

    await fetch(`${t.url}/admin/connections/good/resume`, { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(await metrics()).toMatch(/vncc_crm_connection_paused\{connection="good"\} 0/);
    await eventually(() => t.logs.find((l) => l.event === 'crm.connection_resumed'), 2000, 'the resumed line');
  });

  it('a call log that failed for good is counted in readiness (with what to do) and in vncc_queue_jobs', async () => {
    const params = { CallID: newCallId(), CallerIDNum: '0015551234567', CalledExtension: '0005*210', CallFlow: 'IN', CallStatus: 'ANSWER' };
    expect((await sendEvent(t.url, 'hangup', params)).status).toBe(202);
    const body = await eventually(
      async () => {
        const b = await ready();
        return b.failedCallLogs === 1 ? b : undefined;
      },
      20_000,
      'the failed call log in readiness',
    );
    expect(body.problems?.join('\n')).toMatch(/1 call log\(s\) failed for good: see GET \/admin\/jobs\/failed/);
    expect(await metrics()).toMatch(/vncc_queue_jobs\{queue="call-log",state="failed"\} 1/);
  });
});
