import { ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { OwnRedis } from '../support/redis-server';
import { TEST_ADMIN_TOKEN, TEST_TOKEN, eventually, newCallId, sendEvent, startTestApp } from '../support/test-app';

/**
 * Faults during a stream of calls: the report per scenario counts events sent and accepted,
 * calls logged in the CRM, duplicates and calls lost (accepted but never logged): the last two must be 0.
 */
const CSV = 'id,name,company,phone\nc-001,Jane Roe,Acme Corp,(555) 123-4567\n';
const config = (dir: string) => {
  writeFileSync(join(dir, 'contacts.csv'), CSV);
  writeFileSync(
    join(dir, 'connector.yaml'),
    `calls: { hangupSettleMs: 0 }
workers: { callLogAttempts: 30, lockDurationMs: 1500 }
connections:
  crm: { type: file, contactsCsv: contacts.csv, callLogFile: calls.jsonl }
mappings:
  defaults: { connection: crm, country: US }
`,
  );
  return join(dir, 'connector.yaml');
};
const logged = async (dir: string) => {
  const lines = (await readFile(join(dir, 'calls.jsonl'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
  const counts = new Map<string, number>();
  for (const l of lines) {
    const id = (JSON.parse(l) as { callId: string }).callId;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Report {
  scenario: string;
  eventsSent: number;
  eventsAccepted: number;
  refused503: number;
  callsAccepted: number;
  crmRecords: number;
  duplicates: number;
  lost: number;
}

/** Plays calls (Dial-In, Hangup) from `senders` loops until `stop()`; a call counts as accepted when its Hangup got 202. */
function callStream(url: string, senders: number) {
  let running = true;
  const accepted = new Set<string>();
  const stats = { sent: 0, accepted: 0, refused503: 0 };
  const loop = async () => {
    while (running) {
      const id = newCallId();
      const params = { CallID: id, CallerIDNum: '0015551234567', CalledExtension: '0003*210', CallFlow: 'IN' };
      for (const [type, extra] of [['dial-in', {}], ['hangup', { CallStatus: 'ANSWER' }]] as const) {
        stats.sent += 1;
        try {
          const res = await sendEvent(url, type, { ...params, ...extra });
          if (res.status === 202) {
            stats.accepted += 1;
            if (type === 'hangup') accepted.add(id);
          } else if (res.status === 503) stats.refused503 += 1;
          else throw new Error(`unexpected ${res.status}: ${JSON.stringify(res.body)}`);
        } catch (err) {
          if ((err as Error).message.startsWith('unexpected')) throw err;
          stats.refused503 += 1; // connection refused: not accepted either
        }
      }
      await sleep(10);
    }
  };
  const loops = Array.from({ length: senders }, loop);
  return {
    accepted,
    stats,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function check(scenario: string, dir: string, stream: ReturnType<typeof callStream>): Promise<Report> {
  await eventually(
    async () => {
      const counts = await logged(dir);
      return [...stream.accepted].every((id) => counts.has(id)) ? true : undefined;
    },
    45_000,
    `every accepted call of "${scenario}" to be logged`,
  );
  await sleep(500); // anything still retrying would show up as a duplicate now
  const counts = await logged(dir);
  const report: Report = {
    scenario,
    eventsSent: stream.stats.sent,
    eventsAccepted: stream.stats.accepted,
    refused503: stream.stats.refused503,
    callsAccepted: stream.accepted.size,
    crmRecords: [...counts.values()].reduce((a, b) => a + b, 0),
    duplicates: [...counts.values()].filter((n) => n > 1).length,
    lost: [...stream.accepted].filter((id) => !counts.has(id)).length,
  };
  process.stderr.write(`chaos report: ${JSON.stringify(report)}\n`);
  return report;
}

describe('Chaos', () => {
  it('Redis killed (SIGKILL) and restarted from its AOF mid-stream: every call answered 202 is logged exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vncc-chaos-redis-'));
    const redis = await OwnRedis.start({ aofDir: dir });
    const t = await startTestApp({ REDIS_URL: redis.url, CONFIG_FILE: config(dir) });
    try {
      const stream = callStream(t.url, 4);
      await sleep(1500);
      await redis.stop();
      await sleep(1000);
      await redis.start();
      await sleep(1500);
      await stream.stop();
      const report = await check('redis-restart', dir, stream);
      expect(report.callsAccepted).toBeGreaterThan(10);
      expect(report.refused503).toBeGreaterThan(0);
      expect(report).toMatchObject({ duplicates: 0, lost: 0 });
      expect(report.crmRecords).toBeGreaterThanOrEqual(report.callsAccepted);
    } finally {
      await t.close();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('worker process killed (SIGKILL) again and again mid-stream: every call is logged exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vncc-chaos-worker-'));
    const configFile = config(dir);
    const api = await startTestApp({ ROLE: 'api', CONFIG_FILE: configFile });
    const startWorker = (): ChildProcess =>
      fork(resolve(__dirname, '../../dist/main.js'), [], {
        env: { ...process.env, ROLE: 'worker', PORT: '0', HOST: '127.0.0.1', REDIS_PREFIX: api.prefix, CONFIG_FILE: configFile, INGEST_TOKEN: TEST_TOKEN, ADMIN_TOKEN: TEST_ADMIN_TOKEN, LOG_LEVEL: 'warn' },
        stdio: 'ignore',
      });
    let worker = startWorker();
    let kills = 0;
    try {
      const stream = callStream(api.url, 3);
      for (let i = 0; i < 4; i++) {
        await sleep(1200);
        worker.kill('SIGKILL');
        kills += 1;
        worker = startWorker();
      }
      await stream.stop();
      const report = await check('worker-sigkill', dir, stream);
      expect(kills).toBe(4);
      expect(report.callsAccepted).toBeGreaterThan(10);
      expect(report).toMatchObject({ duplicates: 0, lost: 0, refused503: 0 });
      expect(report.crmRecords).toBe(report.callsAccepted);
    } finally {
      worker.kill('SIGKILL');
      await api.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
