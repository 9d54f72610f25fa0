// Ingest throughput and latency: the connector's POST route against a bare Fastify + BullMQ
// baseline, measured in the same run on the same machine (the ratio is what to compare).
//
//   npm run bench:ingest            (builds first; needs Redis on REDIS_URL or 127.0.0.1:6379)
//   BENCH_SECONDS=8 BENCH_RUNS=3 BENCH_CONNECTIONS=50 npm run bench:ingest
//   BENCH_CONNECTOR=/path/to/other/dist/main.js ...   (A/B a different build against the baseline)
//   BENCH_BASELINE=minimal ...   (the baseline adds a job with an id only: see baseline-server.mjs)
//
// Fairness: both servers run the whole time, are loaded by the same autocannon in this process
// (which shares the machine's cores with them and with Redis, alike for both sides), get one
// discarded warm-up run each, then alternate, so a noisy moment hits both alike; each side's best
// run counts. Besides req/s and latency, the server's and Redis's CPU time per request is read
// from /proc: on a busy machine it is steadier than req/s, and it does not depend on the load
// generator.
import autocannon from 'autocannon';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Redis from 'ioredis';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const connectorEntry = resolve(process.env.BENCH_CONNECTOR ?? resolve(root, 'dist/main.js'));
const token = 'bench-token';

function start(script, port, prefix, extraEnv = {}) {
  return new Promise((resolveStart, reject) => {
    const child = fork(script, [], {
      cwd: root,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redisUrl, REDIS_PREFIX: prefix, INGEST_TOKEN: token, ...extraEnv },
      // stdout (the connector's JSON log lines) goes to /dev/null: written, never read.
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

/** CPU milliseconds (user + system) a process has used so far, or undefined off Linux. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

async function redisPid() {
  const redis = new Redis(redisUrl);
  try {
    const info = await redis.info('server');
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    // Only a local Redis has its CPU time in /proc here.
    return cpuMs(pid) === undefined ? undefined : pid;
  } finally {
    redis.disconnect();
  }
}

function run(port, pids, { rate, duration = seconds } = {}) {
  const before = pids.map(cpuMs);
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
        duration,
        ...(rate ? { overallRate: rate } : {}),
      },
      (err, r) => {
        if (err) return reject(err);
        // CPU microseconds per request, for the server and for Redis.
        const perRequest = pids.map((pid, i) => (before[i] === undefined ? undefined : Math.round(((cpuMs(pid) - before[i]) * 1000) / r.requests.total)));
        resolveRun({ rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts, cpuUs: perRequest[0], redisCpuUs: perRequest[1] });
      },
    );
    instance.on('error', reject);
  });
}

const BODY = 'CallerIDNum=0015551234567&CallerIDNam=Jane+Roe&CalledDID=%2B3222222222&CalledExtension=0003*210&CallStatus=CALLING&CallFlow=IN&CalledNumber=%2B3222222222';

/**
 * Latency at a steady rate, open loop: request i is due at start + i/rate, is sent on the first
 * free keep-alive connection, and its latency counts from when it was due (so time spent waiting
 * for a free connection is counted, not hidden). autocannon's overallRate is not used for this:
 * each of its connections sends its per-second quota back to back and then waits for the next
 * second, which measures saturation bursts, not a steady half load.
 */
let pacedRuns = 0;
function paced(port, rate, duration = seconds) {
  const run = ++pacedRuns;
  const latencies = [];
  let statusErrors = 0;
  let socketErrors = 0;
  let next = 0;
  const total = Math.round(rate * duration);
  const idle = [];
  const start = performance.now() + 50;
  const request = (i) => {
    const body = `CallID=paced${run}-${String(i).padStart(9, '0')}${prefix}&${BODY}`;
    return `POST /voipnow/events/dial-in?token=${token} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  };
  return new Promise((resolvePaced) => {
    let done = 0;
    // A server that stops answering must not hang the bench: what came back by then counts.
    const deadline = setTimeout(() => finish(true), (duration + 10) * 1000);
    const finish = (now = false) => {
      if (++done < total && !now) return;
      if (!timer) return;
      clearInterval(timer);
      clearTimeout(deadline);
      timer = undefined;
      for (const c of sockets) c.destroy();
      latencies.sort((a, b) => a - b);
      const pct = (q) => +(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN).toFixed(1);
      resolvePaced({ rps: Math.round(latencies.length / duration), sent: total, ok: latencies.length, non2xx: statusErrors, errors: socketErrors, p50: pct(0.5), p99: pct(0.99), max: pct(1) });
    };
    const sockets = Array.from({ length: connections }, () => {
      const socket = connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      let buffer = '';
      socket.on('data', (chunk) => {
        buffer += chunk.toString('latin1');
        // Responses are small and carry Content-Length: split them off one by one.
        for (;;) {
          const headerEnd = buffer.indexOf('\r\n\r\n');
          if (headerEnd < 0) return;
          const length = Number(/content-length: *(\d+)/i.exec(buffer.slice(0, headerEnd))?.[1] ?? 0);
          if (buffer.length < headerEnd + 4 + length) return;
          const status = Number(buffer.slice(9, 12));
          buffer = buffer.slice(headerEnd + 4 + length);
          if (status === 202) latencies.push(performance.now() - socket.due);
          else statusErrors++;
          sendOrIdle(socket);
          finish();
        }
      });
      socket.on('error', () => {
        socketErrors++;
        finish();
      });
      socket.once('connect', () => sendOrIdle(socket));
      return socket;
    });
    const queue = [];
    function sendOrIdle(socket) {
      const due = queue.shift();
      if (due === undefined) return idle.push(socket);
      socket.due = due.at;
      socket.write(request(due.i));
    }
    let timer = setInterval(() => {
      const now = performance.now();
      while (next < total && start + (next * 1000) / rate <= now) {
        queue.push({ i: next, at: start + (next * 1000) / rate });
        next++;
      }
      while (queue.length && idle.length) sendOrIdle(idle.pop());
    }, 1);
  });
}

const prefix = `bench${randomBytes(3).toString('hex')}`;
const connector = await start(connectorEntry, 3901, `${prefix}c`, { ROLE: 'api', LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' });
const baseline = await start(resolve(root, 'bench/baseline-server.mjs'), 3902, `${prefix}b`);
const rpid = await redisPid();
const C = { port: 3901, pids: [connector.pid, rpid] };
const B = { port: 3902, pids: [baseline.pid, rpid] };
try {
  await run(B.port, B.pids, { duration: 2 });
  await run(C.port, C.pids, { duration: 2 });
  const bRuns = [];
  const cRuns = [];
  for (let i = 0; i < runs; i++) {
    bRuns.push(await run(B.port, B.pids));
    cRuns.push(await run(C.port, C.pids));
  }
  const fastest = (list) => list.reduce((a, b) => (b.rps > a.rps ? b : a));
  const base = fastest(bRuns);
  const conn = fastest(cRuns);
  // Latency at a steady rate: half the baseline's best. Both sides, alternating, best p99 each.
  const halfRate = Math.round(base.rps / 2);
  const cHalf = [];
  const bHalf = [];
  for (let i = 0; i < runs; i++) {
    cHalf.push(await paced(C.port, halfRate));
    bHalf.push(await paced(B.port, halfRate));
  }
  const calmest = (list) => list.reduce((a, b) => (b.p99 < a.p99 ? b : a));
  const median = (list, key) => [...list.map((r) => r[key])].sort((a, b) => a - b)[list.length >> 1];
  const report = {
    machine: `${cpus().length} cores, Node ${process.version}`,
    connections,
    secondsPerRun: seconds,
    runsPerSide: runs,
    baseline: base,
    connector: conn,
    baselineAdds: process.env.BENCH_BASELINE === 'minimal' ? 'a job with an id only' : "the connector's pop job (same options)",
    throughputRatio: +(conn.rps / base.rps).toFixed(2),
    medianRoundRatio: +median(bRuns.map((b, i) => ({ r: cRuns[i].rps / b.rps })), 'r').toFixed(2),
    throughputRatiosPerRound: bRuns.map((b, i) => +(cRuns[i].rps / b.rps).toFixed(2)),
    medianCpuUsPerRequest: { baseline: median(bRuns, 'cpuUs'), connector: median(cRuns, 'cpuUs') },
    medianRedisCpuUsPerRequest: { baseline: median(bRuns, 'redisCpuUs'), connector: median(cRuns, 'redisCpuUs') },
    atHalfBaselineRate: { rate: halfRate, connector: calmest(cHalf), baseline: calmest(bHalf) },
  };
  console.log(JSON.stringify(report, null, 2));
  const us = (v) => (v === undefined ? '–' : v);
  console.log(`\n| | req/s | p50 ms | p99 ms | server CPU µs/req | Redis CPU µs/req |\n|---|---|---|---|---|---|`);
  console.log(`| bare Fastify + queue.add (baseline) | ${base.rps} | ${base.p50} | ${base.p99} | ${us(report.medianCpuUsPerRequest.baseline)} | ${us(report.medianRedisCpuUsPerRequest.baseline)} |`);
  console.log(`| connector POST /voipnow/events/dial-in | ${conn.rps} | ${conn.p50} | ${conn.p99} | ${us(report.medianCpuUsPerRequest.connector)} | ${us(report.medianRedisCpuUsPerRequest.connector)} |`);
  const h = report.atHalfBaselineRate;
  console.log(`| baseline at half its best rate (${halfRate}/s) | ${h.baseline.rps} | ${h.baseline.p50} | ${h.baseline.p99} | | |`);
  console.log(`| connector at half the baseline's best rate (${halfRate}/s) | ${h.connector.rps} | ${h.connector.p50} | ${h.connector.p99} | | |`);
  console.log(`\nthroughput ratio connector/baseline: ${report.throughputRatio} best/best, ${report.medianRoundRatio} median round (per round: ${report.throughputRatiosPerRound.join(', ')}); baseline adds ${report.baselineAdds}`);
} finally {
  connector.kill('SIGTERM');
  baseline.kill('SIGTERM');
  // SCAN + UNLINK, not KEYS + DEL: a run leaves a few hundred thousand keys, and KEYS over a big
  // shared Redis blocks it for everyone else (other tests' requests then time out).
  const redis = new Redis(redisUrl);
  for (const p of [`${prefix}c`, `${prefix}b`]) {
    for await (const keys of redis.scanStream({ match: `${p}:*`, count: 1000 })) {
      if (keys.length) await redis.unlink(...keys);
    }
  }
  redis.disconnect();
}
