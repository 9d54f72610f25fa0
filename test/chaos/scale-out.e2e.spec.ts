import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeHubSpot } from '../fakes/fake-hubspot';
import { OwnRedis } from '../support/redis-server';
import { addCallers, callLogJobs, callStream, HS_TOKEN, hubspotConfig, loggedInHubSpot, misassociated, report, sleep } from './support';
import { ConnectorProcess } from './processes';

/**
 * Scale-out as production runs it: 2 ROLE=api and 2 ROLE=worker processes from dist/, one Redis
 * (AOF), HubSpot over HTTP. Senders are spread round robin over the two API processes while Redis
 * is SIGKILLed and restarted once and workers are SIGKILLed three times, each mid-stream.
 */
describe('Chaos: scale-out', () => {
  it('2 api + 2 worker processes, Redis restarted and workers killed mid-stream: every call answered 202 is logged exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vncc-chaos-scale-'));
    const redis = await OwnRedis.start({ aofDir: dir });
    const hs = await startFakeHubSpot({ tokens: [HS_TOKEN] });
    const { caller, contactOf } = addCallers(hs, 40);
    hs.setLatency(20); // a CRM round trip takes time, so kills land mid-job
    const env = { REDIS_URL: redis.url, REDIS_PREFIX: 'chaos', CONFIG_FILE: hubspotConfig(dir, hs.url) };
    const processes: ConnectorProcess[] = [];
    const start = async (role: 'api' | 'worker') => {
      const p = await ConnectorProcess.spawn(role, env);
      processes.push(p);
      return p.ready();
    };
    try {
      const apis = await Promise.all([start('api'), start('api')]);
      const workers = await Promise.all([start('worker'), start('worker')]);
      let workerKills = 0;
      const killWorker = async (i: number) => {
        await workers[i].kill('SIGKILL');
        workerKills += 1;
        workers[i] = await start('worker');
      };

      const stream = callStream(
        apis.map((a) => a.url),
        4,
        20,
        caller,
      );
      await sleep(1200);
      await killWorker(0);
      await sleep(1200);
      await redis.stop();
      await sleep(1000);
      await redis.start();
      await sleep(1200);
      await killWorker(1);
      await sleep(1200);
      await killWorker(0);
      await sleep(1200);
      await stream.untilCalls(12);
      await stream.stop();

      const r = await report('scale-out', stream, () => loggedInHubSpot(hs, stream.started), {
        ms: 45_000,
        extra: async () => {
          const jobs = await callLogJobs(redis.url, 'chaos');
          return { apiProcesses: apis.length, workerProcesses: workers.length, workerKills, redisRestarts: 1, failedSet: jobs.counts.failed, misassociated: misassociated(hs, stream, contactOf) };
        },
      });
      expect(r.callsAccepted).toBeGreaterThan(10);
      expect(r.refused503).toBe(0); // Redis was down for a second: each API process spooled what it could not store
      expect(r).toMatchObject({ duplicates: 0, lost: 0, failedSet: 0, workerKills: 3, misassociated: 0 });
      // Every call whose Hangup got 202 is logged; a call refused at Hangup may still be logged
      // if VoipNow's Hangup got through on one API process just before Redis went down.
      expect(r.crmRecords).toBe(r.callsAccepted + r.refusedButLogged); // and no record of a call never made
    } catch (err) {
      for (const p of processes) if (p.lastOutput) process.stderr.write(`--- ${p.role} ${p.proc.pid}:\n${p.lastOutput.slice(-2000)}\n`);
      throw err;
    } finally {
      await Promise.all(processes.map((p) => p.kill('SIGKILL')));
      await redis.stop();
      await hs.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 100_000);
});
