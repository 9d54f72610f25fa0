import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeHubSpot } from '../fakes/fake-hubspot';
import { ClusterSetup, HAVE_REDIS_CLUSTER_TOOLS } from '../support/redis-cluster';
import { eventually, startTestApp } from '../support/test-app';
import { addCallers, callLogJobs, callStream, EXTENSION, HS_TOKEN, hubspotConfig, loggedInHubSpot, misassociated, report, sleep } from './support';

if (!HAVE_REDIS_CLUSTER_TOOLS) {
  process.stderr.write('Chaos: Redis Cluster skipped: redis-server and redis-cli are needed on the PATH (apt-get install redis-server)\n');
}

/**
 * Redis Cluster, 3 masters without replicas (AOF appendfsync always): the connector is given the
 * nodes (REDIS_URL=redis+cluster://...) and a hash-tagged prefix, so all its keys share one slot on
 * one master. HubSpot (the fake, 40 callers in rotation) so the request budget's and the lookup
 * cache's Redis scripts run on the Cluster too. That master is SIGKILLed mid-stream and restarted on the same port and files. Without
 * a replica nothing takes its slots over: while it is away the cluster is down (full slot coverage
 * is required, Redis's default) and events are answered 503; once it is back the stream goes on.
 */
(HAVE_REDIS_CLUSTER_TOOLS ? describe : describe.skip)('Chaos: Redis Cluster', () => {
  it('the master holding the prefix SIGKILLed mid-stream and restarted: every call answered 202 is logged exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vncc-chaos-cluster-'));
    let cluster: ClusterSetup | undefined;
    let t: Awaited<ReturnType<typeof startTestApp>> | undefined;
    let stopStream: (() => Promise<void>) | undefined;
    const hs = await startFakeHubSpot({ tokens: [HS_TOKEN] }).catch(async (err: unknown) => {
      await rm(dir, { recursive: true, force: true });
      throw err;
    });
    const { caller, contactOf } = addCallers(hs, 40);
    try {
      cluster = await ClusterSetup.start(dir);
      const prefix = `{t${randomBytes(4).toString('hex')}}`;
      // The spool off: this scenario measures the cluster's outage itself (503s and readiness while the slot has no master).
      t = await startTestApp({ REDIS_URL: cluster.url, REDIS_PREFIX: prefix, CONFIG_FILE: hubspotConfig(dir, hs.url), HS_TOKEN, SPOOL_MAX_MB: '0' });
      const owner = await cluster.ownerOf(`${prefix}:anything`);
      const stream = callStream([t.url], 4, 10, caller);
      stopStream = stream.stop;
      await stream.untilCalls(12);
      const acceptedBeforeKill = stream.accepted.size;
      const refusedBeforeKill = stream.stats.refused503;
      await owner.kill();
      const killedAt = Date.now();
      await cluster.noticed(owner);
      // Readiness tells a load balancer the truth: the other masters answer PING, but not for our slot.
      const readyWhileDown = (await fetch(`${t.url}/health/ready`)).status;
      await sleep(1000); // a stretch of the stream against a failed cluster
      owner.start();
      await cluster.healthy();
      const readyAfter = await eventually(async () => ((await fetch(`${t!.url}/health/ready`)).status === 200 ? 200 : undefined), 10_000, 'readiness back');
      const downMs = Date.now() - killedAt; // printed, never asserted
      const acceptedWhileDown = stream.accepted.size - acceptedBeforeKill;
      const acceptedBeforeRestart = new Set(stream.accepted);
      // The stream must reach the restarted master too, not only survive the gap.
      await eventually(() => (stream.accepted.size >= acceptedBeforeKill + acceptedWhileDown + 12 ? true : undefined), 30_000, '12 calls accepted after the restart');
      await stream.stop();
      // Screen pop through the Cluster: the agent page's replay stream (what a page that reconnects
      // is sent) holds an update for every call whose Hangup was taken after the restart.
      const popped = async () => {
        const entries = (await t!.redis.xrange(`${prefix}:updates-log:${EXTENSION}`, '-', '+')) as [string, string[]][];
        return new Set(entries.map(([, f]) => (JSON.parse(f[f.indexOf('u') + 1]) as { record: { callId: string } }).record.callId));
      };
      const afterRestart = [...stream.accepted].filter((id) => !acceptedBeforeRestart.has(id));
      const notPopped = await eventually(
        async () => {
          const seen = await popped();
          const missing = afterRestart.filter((id) => !seen.has(id));
          return missing.length === 0 ? 0 : undefined;
        },
        15_000,
        'a screen-pop update for every call taken after the restart',
      ).catch(async () => {
        const seen = await popped();
        return afterRestart.filter((id) => !seen.has(id)).length; // the report says how many
      });
      const r = await report('cluster-master-restart', stream, () => loggedInHubSpot(hs, stream.started), {
        extra: async () => ({
          acceptedBeforeKill,
          acceptedAfterKill: stream.accepted.size - acceptedBeforeKill,
          refused503AfterKill: stream.stats.refused503 - refusedBeforeKill,
          downMs,
          failedSet: (await callLogJobs(cluster!.url, prefix)).counts.failed, // read through the Cluster client too
          mastersHoldingKeys: await cluster!.mastersHolding(`${prefix}:*`),
          poppedCalls: (await popped()).size,
          notPoppedAfterRestart: notPopped,
          misassociated: misassociated(hs, stream, contactOf),
        }),
      });
      expect(r.mastersHoldingKeys).toBe(1); // the hash tag keeps every key (queues, call state, markers) in one slot
      expect(r.refused503AfterKill).toBeGreaterThan(0); // the slot had no master for a while
      expect(r.notPoppedAfterRestart).toBe(0);
      expect([readyWhileDown, readyAfter]).toEqual([503, 200]);
      expect(r).toMatchObject({ duplicates: 0, lost: 0, failedSet: 0, misassociated: 0 });
      expect(r.crmRecords).toBe(r.callsAccepted + r.refusedButLogged); // and no record of a call never made
    } finally {
      await stopStream?.().catch(() => undefined); // already stopped unless the test failed midway
      await t?.close();
      await cluster?.stop();
      await hs.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
