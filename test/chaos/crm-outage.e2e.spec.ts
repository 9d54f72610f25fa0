import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeHubSpot } from '../fakes/fake-hubspot';
import { startTestApp } from '../support/test-app';
import { callLogJobs, callStream, CrmSwitch, HS_TOKEN, hubspotConfig, loggedInHubSpot, report, sleep } from './support';

/**
 * The CRM goes away while calls keep coming: first HubSpot answers 503, then its address refuses
 * connections, then it comes back. The call-log jobs retry with the queue's exponential back-off
 * (5 s base, doubling, jitter; there is no config knob for the base, so the outage is ~18 s), and
 * the backlog must drain by itself: every accepted call logged once, nothing left in the failed set.
 */
describe('Chaos: CRM down', () => {
  it('HubSpot answers 503, then refuses connections, then returns: the backlog drains, every call logged exactly once, failed set empty', async () => {
    const hs = await startFakeHubSpot({ tokens: [HS_TOKEN] });
    hs.addContact({ firstname: 'Jane', lastname: 'Roe', company: 'Acme', phone: '(555) 123-4567' });
    const crm = await new CrmSwitch(hs.url).up();
    const dir = mkdtempSync(join(tmpdir(), 'vncc-chaos-crm-down-'));
    const t = await startTestApp({ CONFIG_FILE: hubspotConfig(dir, crm.url), HS_TOKEN });
    try {
      const stream = callStream([t.url], 2, 20);
      await sleep(1500);

      const outageStart = Date.now();
      hs.inject({ match: () => true, times: Number.MAX_SAFE_INTEGER, status: 503, body: { status: 'error', message: 'Service Unavailable', category: 'SERVICE_UNAVAILABLE' } });
      await sleep(2000); // calls still arrive during the outage: their first attempts fail too
      await stream.stop();
      await sleep(6000);
      const answered503 = hs.requests.filter((r) => r.at >= outageStart).length;

      await crm.down();
      await sleep(10_000);
      await crm.up();
      hs.clearFaults();
      const outageMs = Date.now() - outageStart;

      const failures = () => t.logs.filter((l) => l.event === 'job.failed' && l.queue === 'call-log').map((l) => String(l.err));
      const r = await report('crm-down', stream, () => loggedInHubSpot(hs, stream.accepted), {
        ms: 60_000,
        extra: async () => {
          const jobs = await callLogJobs(t.env.redisUrl, t.prefix);
          return {
            outageSeconds: Math.round(outageMs / 1000),
            answered503,
            failedAttempts503: failures().filter((e) => e.includes('503')).length,
            failedAttemptsRefused: failures().filter((e) => e.includes('ECONNREFUSED')).length,
            maxAttempts: jobs.maxAttempts,
            failedSet: jobs.counts.failed,
          };
        },
      });
      expect(r.callsAccepted).toBeGreaterThan(10);
      expect(r).toMatchObject({ duplicates: 0, lost: 0, refused503: 0, failedSet: 0 });
      expect(r.crmRecords).toBe(r.callsAccepted);
      // The outage was long enough to matter: both kinds of failure were met, and calls needed several retries.
      expect(r.answered503).toBeGreaterThan(0);
      expect(r.failedAttempts503).toBeGreaterThan(0);
      expect(r.failedAttemptsRefused).toBeGreaterThan(0);
      expect(r.maxAttempts).toBeGreaterThanOrEqual(3);
    } finally {
      await t.close();
      await crm.down();
      await hs.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 100_000);
});
