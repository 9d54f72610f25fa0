// Ingest throughput and latency: the connector's POST route against a bare Fastify + BullMQ
// baseline, measured in the same run on the same machine (the ratio is what to compare).
//
//   npm run bench:ingest            (builds first; needs Redis on REDIS_URL or 127.0.0.1:6379)
//   BENCH_SECONDS=10 BENCH_CONNECTIONS=50 npm run bench:ingest
import autocannon from 'autocannon';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Redis from 'ioredis';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const token = 'bench-token';

function start(script, port, prefix, extraEnv = {}) {
  return new Promise((resolveStart, reject) => {
    const child = fork(script, [], {
      cwd: root,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redisUrl, REDIS_PREFIX: prefix, INGEST_TOKEN: token, ...extraEnv },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    child.once('error', reject);
    const started = Date.now();
    const poll = async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/voipnow/events/dial-in?token=${token}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `CallID=warm${Date.now()}&CalledExtension=210` });
        if (res.status === 202) return resolveStart(child);
      } catch {}
      if (Date.now() - started > 30_000) return reject(new Error(`${script} did not start`));
      setTimeout(poll, 200);
    };
    poll();
  });
}

function run(port, { rate } = {}) {
  return new Promise((resolveRun, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}/voipnow/events/dial-in?token=${token}`,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        // [<id>] makes every request a new call, so neither side can answer from a duplicate.
        body: 'CallID=[<id>]&CallerIDNum=0015551234567&CallerIDNam=Jane+Roe&CalledDID=%2B3222222222&CalledExtension=0003*210&CallStatus=CALLING&CallFlow=IN&CalledNumber=%2B3222222222',
        idReplacement: true,
        connections,
        duration: seconds,
        ...(rate ? { overallRate: rate } : {}),
      },
      (err, result) => (err ? reject(err) : resolveRun(result)),
    );
    instance.on('error', reject);
  });
}

const summary = (r) => ({ rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts });

const prefix = `bench${randomBytes(3).toString('hex')}`;
const connector = await start(resolve(root, 'dist/main.js'), 3901, `${prefix}c`, { ROLE: 'api', LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' });
const baseline = await start(resolve(root, 'bench/baseline-server.mjs'), 3902, `${prefix}b`);
try {
  // Alternate, twice each, so a noisy moment hits both sides alike.
  const b1 = summary(await run(3902));
  const c1 = summary(await run(3901));
  const b2 = summary(await run(3902));
  const c2 = summary(await run(3901));
  const best = (a, b) => (a.rps >= b.rps ? a : b);
  const base = best(b1, b2);
  const conn = best(c1, c2);
  const halfRate = Math.round(base.rps / 2);
  const atHalf = summary(await run(3901, { rate: halfRate }));
  const report = {
    machine: `${(await import('node:os')).cpus().length} cores, Node ${process.version}`,
    connections,
    secondsPerRun: seconds,
    baseline: base,
    connector: conn,
    throughputRatio: +(conn.rps / base.rps).toFixed(2),
    connectorAtHalfBaselineRate: { rate: halfRate, ...atHalf },
  };
  console.log(JSON.stringify(report, null, 2));
  console.log(`\n| | req/s | p50 ms | p99 ms |\n|---|---|---|---|`);
  console.log(`| bare Fastify + queue.add (baseline) | ${base.rps} | ${base.p50} | ${base.p99} |`);
  console.log(`| connector POST /voipnow/events/dial-in | ${conn.rps} | ${conn.p50} | ${conn.p99} |`);
  console.log(`| connector at half the baseline's rate (${halfRate}/s) | ${atHalf.rps} | ${atHalf.p50} | ${atHalf.p99} |`);
  console.log(`\nthroughput ratio connector/baseline: ${report.throughputRatio}`);
} finally {
  connector.kill('SIGTERM');
  baseline.kill('SIGTERM');
  const redis = new Redis(redisUrl);
  for (const p of [`${prefix}c`, `${prefix}b`]) {
    const keys = await redis.keys(`${p}:*`);
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  }
  redis.disconnect();
}
