import { appendFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { QueueName } from '../../src/queue/queues';
import { createRedis } from '../../src/redis/redis-connection';
import { OwnRedis } from '../support/redis-server';
import { eventually, newCallId, sendEvent, startTestApp } from '../support/test-app';
import { ConnectorProcess } from './processes';
import { callStream, EXTENSION, fileCrmConfig, loggedInFile, report, sleep } from './support';

/**
 * The ingest's local spool: while Redis cannot take events, each is fsync'd to the API process's
 * spool and answered 202, then replayed into Redis once it is back. VoipNow never sends an event
 * twice, so every 503 here would be a call lost.
 */
describe('Spool', () => {
  it('Redis SIGKILLed and kept down ~30 s while calls flow: no event refused, every call logged exactly once once it is back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vncc-spool-outage-'));
    const redis = await OwnRedis.start({ aofDir: dir });
    const t = await startTestApp({ REDIS_URL: redis.url, CONFIG_FILE: fileCrmConfig(dir), SPOOL_DIR: join(dir, 'spool') });
    try {
      const stream = callStream([t.url], 2, 100);
      await stream.untilCalls(5);
      await redis.stop();
      const acceptedBeforeKill = stream.accepted.size;
      await sleep(5000);
      // While Redis is away the connector says so: ready (it can still keep events), spooling, how many, how old.
      const ready = await fetch(`${t.url}/health/ready`);
      const readyBody = (await ready.json()) as { status: string; spool: { spooling: boolean; events: number; oldestAgeSeconds: number } };
      const metrics = await (await fetch(`${t.url}/metrics`)).text();
      await sleep(25_000);
      const acceptedWhileDown = stream.accepted.size - acceptedBeforeKill;
      await redis.start();
      await eventually(() => (stream.accepted.size >= acceptedBeforeKill + acceptedWhileDown + 5 ? true : undefined), 30_000, '5 calls after Redis came back');
      await stream.stop();
      const drained = await eventually(
        async () => {
          const body = (await (await fetch(`${t.url}/health/ready`)).json()) as { status: string; spool: { events: number; spooling: boolean } };
          return body.status === 'ready' && body.spool.events === 0 ? body : undefined;
        },
        60_000,
        'the spool to be replayed',
      );
      const r = await report('spool-redis-down-30s', stream, () => loggedInFile(dir), { ms: 90_000, extra: async () => ({ acceptedWhileDown, spooledAtFiveSeconds: readyBody.spool.events }) });
      expect(ready.status).toBe(200);
      expect(readyBody).toMatchObject({ status: 'spooling', spool: { spooling: true } });
      expect(readyBody.spool.events).toBeGreaterThan(0);
      expect(readyBody.spool.oldestAgeSeconds).toBeGreaterThan(0);
      expect(metrics).toMatch(/^vncc_spool_active 1$/m);
      expect(metrics).toMatch(/^vncc_spool_events [1-9]/m);
      expect(t.logs.some((l) => l.event === 'spool.spooling')).toBe(true);
      expect(drained.spool.spooling).toBe(false);
      expect(acceptedWhileDown).toBeGreaterThan(20);
      expect(r).toMatchObject({ refused503: 0, duplicates: 0, lost: 0 });
      expect(r.crmRecords).toBe(r.callsAccepted);
    } finally {
      await t.close();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('the API process SIGKILLed while spooling and started again: its spool is replayed, no call lost or logged twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vncc-spool-apikill-'));
    const redis = await OwnRedis.start({ aofDir: dir });
    const configFile = fileCrmConfig(dir);
    const prefix = 'spoolkill';
    const apiEnv = { REDIS_URL: redis.url, REDIS_PREFIX: prefix, CONFIG_FILE: configFile, SPOOL_DIR: join(dir, 'spool'), SECRETS_DIR: join(dir, 'secrets') };
    let api = await (await ConnectorProcess.spawn('api', apiEnv)).ready();
    const worker = await startTestApp({ ROLE: 'worker', REDIS_URL: redis.url, REDIS_PREFIX: prefix, CONFIG_FILE: configFile });
    try {
      const stream = callStream([api.url], 2, 20);
      await stream.untilCalls(5);
      await redis.stop();
      const spooledBefore = stream.accepted.size;
      await eventually(() => (stream.accepted.size >= spooledBefore + 20 ? true : undefined), 30_000, '20 calls spooled');
      await api.kill('SIGKILL'); // mid-stream: appends under way
      await stream.stop();
      const spooledCalls = stream.accepted.size - spooledBefore;
      api = await (await ConnectorProcess.spawn('api', apiEnv)).ready(); // the same SPOOL_DIR, Redis still down
      await redis.start();
      const r = await report('spool-api-sigkill', stream, () => loggedInFile(dir), { ms: 60_000, extra: async () => ({ spooledCalls }) });
      expect(spooledCalls).toBeGreaterThanOrEqual(20);
      expect(r).toMatchObject({ duplicates: 0, lost: 0 });
      // A call refused only because the process died may have been made durable just before: logged, never twice.
      expect(r.crmRecords).toBe(r.callsAccepted + r.refusedButLogged);
    } finally {
      await api.kill('SIGKILL');
      await worker.close();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a spool filled to its cap: 503 from then on, and every event accepted before reaches Redis', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vncc-spool-full-'));
    const redis = await OwnRedis.start();
    // ~20 KB: a few dozen events of ~400 bytes.
    const t = await startTestApp({ ROLE: 'api', REDIS_URL: redis.url, SPOOL_DIR: join(dir, 'spool'), SPOOL_MAX_MB: '0.02' });
    try {
      await redis.stop();
      const accepted: string[] = [];
      const refused: { callId: string; status: number; message: string }[] = [];
      for (let i = 0; i < 200 && refused.length < 5; i++) {
        const callId = newCallId();
        const res = await sendEvent(t.url, 'dial-in', { CallID: callId, CallerIDNum: '0015551234567', CalledExtension: EXTENSION });
        if (res.status === 202) {
          expect(refused).toEqual([]); // once full, nothing is accepted again while Redis is away
          accepted.push(callId);
        } else refused.push({ callId, status: res.status, message: res.body.message });
      }
      const ready = await fetch(`${t.url}/health/ready`);
      expect(accepted.length).toBeGreaterThan(10);
      expect(refused).toHaveLength(5);
      for (const r of refused) {
        expect(r.status).toBe(503);
        expect(r.message).toMatch(/spool is full .*not accepted/);
      }
      expect(ready.status).toBe(503); // neither Redis nor the spool can keep an event

      await redis.start();
      const stored = await eventually(
        async () => {
          const ids = await popJobCallIds(redis.url, t.prefix);
          return accepted.every((id) => ids.has(id)) ? ids : undefined;
        },
        30_000,
        'every accepted event in Redis',
      );
      expect(accepted.filter((id) => !stored.has(id))).toEqual([]);
      expect(refused.filter((r) => stored.has(r.callId))).toEqual([]);
      const after = await sendEvent(t.url, 'dial-in', { CallID: newCallId(), CalledExtension: EXTENSION });
      expect(after.status).toBe(202);
    } finally {
      await t.close();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('a spool whose last write was cut off mid-entry: the start skips the torn entry, says so, and replays the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vncc-spool-torn-'));
    const redis = await OwnRedis.start();
    const spoolDir = join(dir, 'spool');
    const env = { REDIS_URL: redis.url, SPOOL_DIR: spoolDir, SECRETS_DIR: join(dir, 'secrets'), CONFIG_FILE: fileCrmConfig(dir) };
    await redis.stop();
    const api = await (await ConnectorProcess.spawn('api', env)).ready();
    const accepted: string[] = [];
    for (let i = 0; i < 10; i++) {
      const callId = newCallId();
      const res = await sendEvent(api.url, 'dial-in', { CallID: callId, CalledExtension: EXTENSION });
      expect(res.status).toBe(202);
      accepted.push(callId);
    }
    await api.kill('SIGKILL');
    // A power cut in the middle of the next append: the log ends part-way through a write that was
    // never synced (so never answered). Simulated with the first half of the last write's bytes.
    const wal = join(spoolDir, 'spool.db-wal');
    const bytes = readFileSync(wal);
    const frame = 24 + bytes.readUInt32BE(8);
    appendFileSync(wal, bytes.subarray(bytes.length - frame, bytes.length - frame / 2));
    expect((statSync(wal).size - 32) % frame).not.toBe(0);

    await redis.start();
    const t = await startTestApp({ ROLE: 'api', ...env });
    try {
      const torn = t.logs.find((l) => l.event === 'spool.torn_write');
      expect(torn).toMatchObject({ bytes: frame / 2, entries: 10 });
      const stored = await eventually(
        async () => {
          const ids = await popJobCallIds(redis.url, t.prefix);
          return accepted.every((id) => ids.has(id)) ? ids : undefined;
        },
        30_000,
        'the ten spooled events in Redis',
      );
      expect(stored.size).toBe(10);
      const ready = await eventually(async () => {
        const body = (await (await fetch(`${t.url}/health/ready`)).json()) as { spool: { events: number } };
        return body.spool.events === 0 ? body : undefined;
      });
      expect(ready.spool.events).toBe(0);
    } finally {
      await t.close();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

/** The CallIDs of the screen-pop jobs (each holds its event) in the queue under `prefix`. */
async function popJobCallIds(redisUrl: string, prefix: string): Promise<Set<string>> {
  const connection = createRedis(redisUrl, 'plain');
  connection.on('error', () => undefined);
  const queue = new Queue(QueueName.ScreenPop, { connection, prefix });
  try {
    const jobs = await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized']);
    return new Set(jobs.map((j) => (j.data as { event: { callId: string } }).event.callId));
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
