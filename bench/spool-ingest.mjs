// Ingest while spooling against ingest with Redis up, in the same run, and the replay rate of a
// 100,000-event spool.
//
//   npm run bench:spool            (builds first; needs redis-server on the PATH)
//   BENCH_SECONDS=8 BENCH_RUNS=3 BENCH_CONNECTIONS=50 BENCH_REPLAY_EVENTS=100000 npm run bench:spool
//   BENCH_REPLAY_PER_SECOND=1000 ...   (replay at the connector's default pace instead of its ceiling)
//
// Two built connectors (ROLE=api, LOG_LEVEL=info, log lines to /dev/null), each with a spool of its
// own in a temp directory: "redis up" talks to a redis-server of the bench's own (no persistence,
// as a plain local Redis); "spooling" has REDIS_URL pointing at a port where nothing listens, so
// every event it answers 202 was fsync'd to its spool. One autocannon (in this process) loads one
// of them at a time: a discarded warm-up each, then BENCH_RUNS alternating rounds of BENCH_SECONDS.
// The ratio is best round against best round; the median of the per-round ratios is printed too.
//
// Replay: a third connector, with a fresh spool and its REDIS_URL at a port where nothing listens,
// is sent exactly BENCH_REPLAY_EVENTS events, then a redis-server is started on that port; the time
// from there until the spool is empty (its readiness reports `spool.events`) gives the replay rate.
// SPOOL_REPLAY_PER_SECOND is set to BENCH_REPLAY_PER_SECOND (default 100000: the ceiling, so the
// figure is what replay can do here).
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Redis from 'ioredis';
import { sleep, startConnector, stop } from './support.mjs';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const replayEvents = Number(process.env.BENCH_REPLAY_EVENTS ?? 100_000);
const replayPerSecond = Number(process.env.BENCH_REPLAY_PER_SECOND ?? 100_000);
const token = 'bench-token';
const dir = mkdtempSync(join(tmpdir(), 'vncc-bench-spool-'));

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

async function redisServer(port) {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return proc;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`redis-server did not start on ${port}`);
}

function load(port, { duration = seconds, amount } = {}) {
  return new Promise((resolveRun, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}/voipnow/events/dial-in?token=${token}`,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        // [<id>] makes every request a new call.
        body: 'CallID=[<id>]&CallerIDNum=0015551234567&CallerIDNam=Jane+Roe&CalledDID=%2B3222222222&CalledExtension=0003*210&CallStatus=CALLING&CallFlow=IN&CalledNumber=%2B3222222222',
        idReplacement: true,
        connections,
        ...(amount ? { amount } : { duration }),
      },
      (err, r) => (err ? reject(err) : resolveRun({ rps: Math.round(r.requests.average), total: r.requests.total, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts })),
    );
    instance.on('error', reject);
  });
}

async function spoolOf(port) {
  const body = await (await fetch(`http://127.0.0.1:${port}/health/ready`)).json();
  return body.spool;
}

const upRedisPort = await freePort();
const downRedisPort = await freePort();
const upRedis = await redisServer(upRedisPort);
let downRedis;
const common = { ROLE: 'api', INGEST_TOKEN: token, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', SECRETS_DIR: join(dir, 'secrets') };
const up = { port: await freePort() };
const spooling = { port: await freePort() };
const replay = { port: await freePort() };
up.child = await startConnector({ ...common, REDIS_URL: `redis://127.0.0.1:${upRedisPort}`, REDIS_PREFIX: 'benchup', SPOOL_DIR: join(dir, 'spool-up') }, { port: up.port });
spooling.child = await startConnector(
  {
    ...common,
    REDIS_URL: `redis://127.0.0.1:${downRedisPort}`,
    REDIS_PREFIX: 'benchspool',
    SPOOL_DIR: join(dir, 'spool-down'),
    SPOOL_MAX_MB: '2048',
  },
  { port: spooling.port },
);
try {
  await load(up.port, { duration: 2 });
  await load(spooling.port, { duration: 2 });
  const upRuns = [];
  const spoolRuns = [];
  for (let i = 0; i < runs; i++) {
    upRuns.push(await load(up.port));
    spoolRuns.push(await load(spooling.port));
  }
  const best = (xs) => xs.reduce((a, b) => (b.rps > a.rps ? b : a));
  const ratios = spoolRuns.map((s, i) => s.rps / upRuns[i].rps).sort((a, b) => a - b);
  const table = [
    { side: 'redis up (baseline)', ...best(upRuns) },
    { side: 'spooling (Redis away)', ...best(spoolRuns) },
  ];
  console.table(table);
  const spool = await spoolOf(spooling.port);
  console.log(
    JSON.stringify({
      throughputRatio: +(best(spoolRuns).rps / best(upRuns).rps).toFixed(2),
      medianRoundRatio: +ratios[Math.floor(ratios.length / 2)].toFixed(2),
      rounds: ratios.map((r) => +r.toFixed(2)),
      p99RatioSpoolingOverUp: +(best(spoolRuns).p99 / best(upRuns).p99).toFixed(2),
      refusedWhileSpooling: spoolRuns.reduce((n, r) => n + r.non2xx + r.errors, 0),
      spooledEvents: spool.events,
    }),
  );

  // Replay: a fresh spool of exactly BENCH_REPLAY_EVENTS, then its Redis brought up.
  await stop(spooling.child);
  replay.child = await startConnector(
    {
      ...common,
      REDIS_URL: `redis://127.0.0.1:${downRedisPort}`,
      REDIS_PREFIX: 'benchreplay',
      SPOOL_DIR: join(dir, 'spool-replay'),
      SPOOL_MAX_MB: '2048',
      SPOOL_REPLAY_PER_SECOND: String(replayPerSecond),
    },
    { port: replay.port },
  );
  await load(replay.port, { amount: replayEvents });
  const before = (await spoolOf(replay.port)).events;
  const started = performance.now();
  downRedis = await redisServer(downRedisPort);
  let left = before;
  while (left > 0) {
    await sleep(250);
    left = (await spoolOf(replay.port)).events;
  }
  const secondsTaken = (performance.now() - started) / 1000;
  const redis = new Redis({ port: downRedisPort });
  const jobs = await redis.zcard('benchreplay:screen-pop:prioritized').then(async (p) => p + (await redis.llen('benchreplay:screen-pop:wait')));
  redis.disconnect();
  console.log(JSON.stringify({ replayedEvents: before, seconds: +secondsTaken.toFixed(1), eventsPerSecond: Math.round(before / secondsTaken), replayPerSecondSetting: replayPerSecond, popJobsInRedis: jobs }));
} finally {
  await stop(up.child);
  await stop(spooling.child);
  await stop(replay.child);
  upRedis.kill('SIGKILL');
  downRedis?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
