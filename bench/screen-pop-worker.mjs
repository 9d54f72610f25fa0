// The screen-pop worker alone: N pop jobs put in the queue at once (as a burst of Dial-Ins leaves
// them), drained by one ROLE=worker connector with the `file` CRM answering in BENCH_CRM_LATENCY_MS;
// the time runs from the jobs being added to each call's card update on Redis pub/sub. No HTTP, no
// SSE: what is left is BullMQ, the call record, the lookup and the publish, so the figure holds on a
// machine where the end-to-end bench (screen-pop.mjs) is swamped by other work. The baseline, in
// the same run, is a bare BullMQ worker (same concurrency) whose job waits the CRM's latency and
// does one PUBLISH (screen-pop-worker-baseline.mjs): the least a queued pop can cost.
//
//   npm run -s build && node bench/screen-pop-worker.mjs
//   BENCH_CALLS=2000 BENCH_CONCURRENCY=250 BENCH_CRM_LATENCY_MS=150 BENCH_ROUNDS=3 node bench/screen-pop-worker.mjs
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import Redis from 'ioredis';

const require = createRequire(import.meta.url);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = process.env.BENCH_DIST ?? join(root, 'dist');
const { parseCallEvent } = require(`${dist}/ingest/call-event.js`);
const { popJob } = require(`${dist}/queue/queues.js`);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const calls = Number(process.env.BENCH_CALLS ?? 2000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const latencyMs = Number(process.env.BENCH_CRM_LATENCY_MS ?? 150);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 250);
const prefix = `benchw${randomBytes(3).toString('hex')}`;

const dir = mkdtempSync(join(tmpdir(), 'vncc-bench-popw-'));
const numberOf = (i) => `001555${String(3000000 + i).padStart(7, '0')}`;
const ext = (i) => `0003*${1000 + i}`;
writeFileSync(join(dir, 'contacts.csv'), `id,name,company,phone\n${Array.from({ length: calls }, (_, i) => `c-${i},Caller ${i},Company ${i % 50},+1 555 ${String(3000000 + i).slice(0, 3)} ${String(3000000 + i).slice(3)}`).join('\n')}\n`);
writeFileSync(
  join(dir, 'connector.yaml'),
  `workers: { screenPopConcurrency: ${concurrency} }
connections:
  bench: { type: file, contactsCsv: contacts.csv, callLogFile: calls.jsonl, country: US, cache: { hitSeconds: 0, missSeconds: 0 } }
mappings:
  defaults: { connection: bench, country: US, actions: { logAnswered: false, logMissed: false } }
`,
);

const children = [];
function start(script, env) {
  return new Promise((done, fail) => {
    const child = fork(resolve(root, script), [], {
      cwd: root,
      execArgv: process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : process.execArgv,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', REDIS_URL: redisUrl, INGEST_TOKEN: 'bench-token', AGENT_LINK_SECRET: 'bench-secret', CONFIG_FILE: join(dir, 'connector.yaml'), LOG_LEVEL: 'warn', BENCH_CRM_LATENCY_MS: String(latencyMs), BENCH_CONCURRENCY: String(concurrency), ...env },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    children.push(child);
    child.once('exit', (code) => fail(new Error(`${script} exited with ${code}`)));
    child.on('message', (m) => m?.ready && done(child));
    // The connector says nothing on IPC: it is ready once its workers answer (its queue has a worker).
    if (script.endsWith('screen-pop-connector.mjs')) {
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      const q = new Queue('screen-pop', { connection, prefix: env.REDIS_PREFIX });
      // BullMQ leaves a connection it was given open: closed here, or this process outlives the bench.
      const poll = async () => ((await q.getWorkersCount()) > 0 ? (await q.close(), connection.disconnect(), done(child)) : setTimeout(poll, 100));
      poll();
    }
  });
}

/** CPU time (user + system) a process has used, in ms, from /proc (Linux); NaN elsewhere. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

function stats(list) {
  const s = [...list].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  return { p50: +at(0.5).toFixed(1), p99: +at(0.99).toFixed(1), max: +s.at(-1).toFixed(1) };
}

/** Adds `calls` Dial-In pop jobs at once and times each call's first final update on pub/sub. */
async function run(kind, keyPrefix, child, rounds) {
  const sub = new Redis(redisUrl);
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('screen-pop', { connection, prefix: keyPrefix });
  const seen = new Map();
  await sub.psubscribe(`${keyPrefix}:updates:*`);
  sub.on('pmessage', (_p, _c, message) => {
    const at = performance.now();
    const u = JSON.parse(message);
    if (u.lookup?.status !== 'pending' && !seen.has(u.record.callId)) seen.set(u.record.callId, at);
  });
  const results = [];
  for (let r = 0; r < rounds; r += 1) {
    seen.clear();
    const now = Date.now();
    const jobs = Array.from({ length: calls }, (_, i) => {
      const parsed = parseCallEvent('dial-in', { CallID: `w${randomBytes(5).toString('hex')}`, CallerIDNum: numberOf(i), CallerIDNam: 'Bench', CalledExtension: ext(i), CallFlow: 'IN', CallStatus: 'CALLING' }, now, { maxExtraParameters: 32 });
      const job = popJob(parsed.event, { keepSeconds: 3600 }); // (older builds take the event alone)
      return { name: job.name, data: job.data, opts: job.opts };
    });
    const cpu0 = cpuMs(child.pid);
    const t0 = performance.now();
    await queue.addBulk(jobs);
    const added = performance.now() - t0;
    const ids = jobs.map((j) => j.data.event.callId);
    const deadline = Date.now() + 30_000;
    while (seen.size < ids.length && Date.now() < deadline) await new Promise((w) => setTimeout(w, 10));
    const ms = ids.filter((id) => seen.has(id)).map((id) => seen.get(id) - t0);
    const cpu = (cpuMs(child.pid) - cpu0) / calls;
    results.push({ kind, round: r + 1, added: +added.toFixed(0), lost: ids.length - ms.length, pop: stats(ms), share: stats(ms.map((v) => v - latencyMs)), cpuMsPerPop: +cpu.toFixed(2) });
    console.error(JSON.stringify(results.at(-1)));
    await new Promise((w) => setTimeout(w, 300));
  }
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  connection.disconnect();
  sub.disconnect();
  return results;
}

const all = [];
try {
  const baseline = await start('bench/screen-pop-worker-baseline.mjs', { REDIS_PREFIX: `${prefix}b` });
  const connector = await start('bench/screen-pop-connector.mjs', { REDIS_PREFIX: `${prefix}c`, ROLE: 'worker' });
  // One warm-up round each (JIT, connections, the CSV read), not counted.
  for (const [kind, p, child] of [['baseline', `${prefix}b`, baseline], ['connector', `${prefix}c`, connector]]) {
    await run(kind, p, child, 1);
    all.push(...(await run(kind, p, child, rounds)));
  }
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  const redis = new Redis(redisUrl);
  for (const p of [`${prefix}b`, `${prefix}c`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${p}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  }
  redis.disconnect();
}

const pick = (kind, f) => stats(all.filter((r) => r.kind === kind).map(f));
console.log(JSON.stringify({ machine: `${cpus().length} cores, Node ${process.version}`, calls, latencyMs, concurrency, rounds, results: all }, null, 2));
console.log(`\n| ${calls} pops at once, CRM ${latencyMs} ms, concurrency ${concurrency} | last pop ms (median of rounds) | pop p50 / p99 ms (median of rounds) | CPU ms per pop |`);
console.log('|---|---|---|---|');
for (const kind of ['baseline', 'connector']) {
  console.log(`| ${kind} | ${pick(kind, (r) => r.pop.max).p50} | ${pick(kind, (r) => r.pop.p50).p50} / ${pick(kind, (r) => r.pop.p99).p50} | ${pick(kind, (r) => r.cpuMsPerPop).p50} |`);
}
const ratio = pick('connector', (r) => r.pop.max).p50 / pick('baseline', (r) => r.pop.max).p50;
console.log(`\nlast pop, connector / baseline: ${ratio.toFixed(2)}`);
