import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeHubSpot, startFakeHubSpot } from './fakes/fake-hubspot';
import { eventually, newCallId, sendEvent, startTestApp } from './support/test-app';

/**
 * SIGTERM with a job stuck on a CRM that does not answer: the process must still exit (an
 * orchestrator kills it ~30 s after SIGTERM anyway); the job is left to another worker.
 */
describe('Shutdown with a job stuck on the CRM', () => {
  let hs: FakeHubSpot;
  let dir: string;
  beforeAll(async () => {
    hs = await startFakeHubSpot();
    hs.addContact({ firstname: 'Jane', phone: '(555) 123-4567' });
    dir = mkdtempSync(join(tmpdir(), 'vncc-shutdown-'));
    writeFileSync(
      join(dir, 'connector.yaml'),
      `calls: { hangupSettleMs: 0 }
connections:
  hs: { type: hubspot, basePath: "${hs.url}", portalId: 1, uiDomain: app.hubspot.com, lookupTimeoutMs: 30000, auth: { flow: private-app, tokenEnv: HS_TOKEN } }
mappings:
  defaults: { connection: hs, country: US, actions: { popOnDialIn: false } }
`,
    );
  });
  afterAll(async () => {
    await hs.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('closes after the grace period instead of waiting for the CRM', async () => {
    const t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), HS_TOKEN: 'pat-test-token' });
    hs.inject({ method: 'POST', match: (r) => r.method === 'POST' && r.path.startsWith('/crm/v3/objects/calls') && !r.path.endsWith('/search'), delayMs: 40_000, afterCommit: false, status: 503 });
    expect((await sendEvent(t.url, 'hangup', { CallID: newCallId(), CallerIDNum: '0015551234567', CalledExtension: '0003*210', CallFlow: 'IN', CallStatus: 'ANSWER' })).status).toBe(202);
    // The call log is in flight: its create has reached the CRM, which will not answer for 40 s.
    await eventually(
      () => (hs.requests.some((r) => r.method === 'POST' && r.path.startsWith('/crm/v3/objects/calls') && !r.path.endsWith('/search')) ? true : undefined),
      10_000,
      'the create at the CRM',
    );
    const started = Date.now();
    await t.close();
    expect(Date.now() - started).toBeLessThan(25_000);
    await eventually(() => t.logs.find((l) => l.event === 'shutdown.jobs_left'), 2000, 'the shutdown warning');
  }, 40_000);
});
