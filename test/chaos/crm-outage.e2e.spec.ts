import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeHubSpot } from '../fakes/fake-hubspot';
import { escapeIdPart } from '../../src/ingest/call-event';
import { eventually, newCallId, sendEvent, startTestApp } from '../support/test-app';
import { addCallers, CALLER, callLogJobs, callStream, HS_TOKEN, hubspotConfig, loggedInHubSpot, misassociated, report, sleep } from './support';
import { CrmSwitch } from './processes';

/**
 * The CRM goes away while calls keep coming: a create whose answer is lost, then HubSpot answers
 * 503, then its address refuses connections, then it comes back. The call-log jobs retry with the queue's exponential back-off
 * (5 s base, doubling, jitter; there is no config knob for the base, so the outage is ~18 s), and
 * the backlog must drain by itself: every accepted call logged once, and the failed set holds only
 * what truly cannot succeed: a few calls of an extension mapped to an owner HubSpot does not know.
 */
const POISONED = '0003*299';
describe('Chaos: CRM down', () => {
  it('HubSpot answers 503, then refuses connections, then returns: the backlog drains, every call logged exactly once, only the unloggable calls fail', async () => {
    const hs = await startFakeHubSpot({ tokens: [HS_TOKEN] });
    const { caller, contactOf } = addCallers(hs, 40);
    hs.addOwner({ id: '77', email: 'ann@example.com' });
    const crm = await new CrmSwitch(hs.url).up();
    const dir = mkdtempSync(join(tmpdir(), 'vncc-chaos-crm-down-'));
    const t = await startTestApp({ CONFIG_FILE: hubspotConfig(dir, crm.url, { extensions: `"${POISONED}": { owner: { id: "999" } }` }), HS_TOKEN });
    // Calls that can never be logged (HubSpot answers 400 INVALID_OWNER_ID): they must end in the failed set.
    const poisoned: string[] = [];
    const poison = async () => {
      const params = { CallID: newCallId(), CallerIDNum: CALLER, CalledExtension: POISONED, CallFlow: 'IN' };
      await sendEvent(t.url, 'dial-in', params);
      expect((await sendEvent(t.url, 'hangup', { ...params, CallStatus: 'ANSWER' })).status).toBe(202);
      poisoned.push(params.CallID);
    };
    try {
      const stream = callStream([t.url], 2, 20, caller);
      await poison();
      await sleep(1500);
      await stream.untilCalls(12);

      const outageStart = Date.now();
      // The outage begins mid-request: HubSpot creates the next calls it is sent, and the answer is lost.
      let lostReplies = 0;
      hs.inject({ match: (req) => req.method === 'POST' && /\/crm\/v3\/objects\/calls(\/batch\/create)?$/.test(req.path) && ++lostReplies > 0, afterCommit: true, drop: true });
      hs.inject({ match: () => true, times: Number.MAX_SAFE_INTEGER, status: 503, body: { status: 'error', message: 'Service Unavailable', category: 'SERVICE_UNAVAILABLE' } });
      await poison();
      await sleep(2000); // calls still arrive during the outage: their first attempts fail too
      await poison();
      await stream.stop();
      await sleep(6000);
      const answered503 = hs.requests.filter((r) => r.at >= outageStart).length;

      await crm.down();
      await sleep(10_000);
      await crm.up();
      hs.clearFaults();
      const outageMs = Date.now() - outageStart;

      // The unloggable calls retry through the outage like the rest; wait for their last, refused attempt.
      await eventually(async () => ((await callLogJobs(t.env.redisUrl, t.prefix)).counts.failed >= poisoned.length ? true : undefined), 60_000, 'the unloggable calls to fail').catch(() => undefined);
      const failures = () => t.logs.filter((l) => l.event === 'job.failed' && l.queue === 'call-log').map((l) => String(l.err));
      const r = await report('crm-down', stream, () => loggedInHubSpot(hs, stream.started), {
        ms: 60_000,
        extra: async () => {
          const jobs = await callLogJobs(t.env.redisUrl, t.prefix);
          return {
            outageSeconds: Math.round(outageMs / 1000),
            answered503,
            failedAttempts503: failures().filter((e) => e.includes('503')).length,
            failedAttemptsRefused: failures().filter((e) => e.includes('ECONNREFUSED')).length,
            committedButReplyLost: lostReplies,
            maxAttempts: jobs.maxAttempts,
            failedSet: jobs.counts.failed,
            failedInvalidOwner: jobs.failedReasons.filter((m) => m?.includes('not a valid owner id')).length,
            misassociated: misassociated(hs, stream, contactOf),
            poisonedLogged: hs.calls().filter((c) => poisoned.some((id) => c.properties.voipnow_call_key === `vn-${escapeIdPart(id)}`)).length,
          };
        },
      });
      expect(r.callsAccepted).toBeGreaterThan(10);
      expect(r).toMatchObject({ duplicates: 0, lost: 0, poisonedLogged: 0, misassociated: 0 });
      expect(r.failedSet).toBe(poisoned.length);
      expect(r.failedInvalidOwner).toBe(poisoned.length);
      expect(r.crmRecords).toBe(r.callsAccepted + r.refusedButLogged); // and no record of a call never made
      // The outage was long enough to matter: both kinds of failure were met, and calls needed several retries.
      expect(r.answered503).toBeGreaterThan(0);
      expect(r.failedAttempts503).toBeGreaterThan(0);
      expect(r.failedAttemptsRefused).toBeGreaterThan(0);
      expect(r.maxAttempts).toBeGreaterThanOrEqual(3);
      expect(r.committedButReplyLost).toBe(1); // and yet no duplicate
    } finally {
      await t.close();
      await crm.down();
      await hs.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 100_000);
});
