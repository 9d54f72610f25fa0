import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SentinelSetup } from '../support/redis-sentinel';
import { eventually, startTestApp } from '../support/test-app';
import { callLogJobs, callStream, fileCrmConfig, loggedInFile, report, sleep } from './support';

/**
 * Redis behind Sentinel (master + replica, AOF everysec, 3 sentinels): the connector is given only
 * the sentinels (REDIS_URL=redis+sentinel://...), the master is SIGKILLed mid-stream and never comes
 * back, Sentinel promotes the replica and the stream goes on against it.
 */
describe('Chaos: Redis Sentinel', () => {
  it('master SIGKILLed mid-stream, replica promoted: every call answered 202 is logged exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vncc-chaos-sentinel-'));
    const redis = await SentinelSetup.start(dir);
    // The spool off: this scenario measures the failover itself (the 503s until a replica is promoted).
    const t = await startTestApp({ REDIS_URL: redis.url, CONFIG_FILE: fileCrmConfig(dir), SPOOL_MAX_MB: '0' });
    try {
      const stream = callStream([t.url], 4);
      await sleep(1500);
      await stream.untilCalls(12);
      const acceptedBeforeKill = stream.accepted.size;
      const refusedBeforeKill = stream.stats.refused503;
      const killedAt = Date.now();
      await redis.killMaster();
      await redis.promoted();
      const promotedAfterMs = Date.now() - killedAt; // printed, never asserted
      // The stream must reach the new master too, not only survive the gap.
      await eventually(() => (stream.accepted.size >= acceptedBeforeKill + 12 ? true : undefined), 30_000, '12 calls accepted after the failover');
      await stream.stop();
      const r = await report('sentinel-failover', stream, () => loggedInFile(dir), {
        extra: async () => ({
          acceptedBeforeKill,
          acceptedAfterKill: stream.accepted.size - acceptedBeforeKill,
          refused503AfterKill: stream.stats.refused503 - refusedBeforeKill,
          promotedAfterMs,
          failedSet: (await callLogJobs(redis.url, t.prefix)).counts.failed, // read through the sentinels too
          masterNow: (await redis.masterPort()) === redis.replica.port ? 'replica' : 'other',
        }),
      });
      expect(r.masterNow).toBe('replica');
      expect(r.refused503AfterKill).toBeGreaterThan(0); // no master for at least down-after-milliseconds
      expect(r).toMatchObject({ duplicates: 0, lost: 0, failedSet: 0 });
      expect(r.crmRecords).toBe(r.callsAccepted + r.refusedButLogged); // and no record of a call never made
    } finally {
      await t.close();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
