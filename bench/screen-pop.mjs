// Screen-pop latency: from the Dial-In request leaving the sender to (a) the card update arriving
// on the agent's SSE stream and (b) the card in the agent's page (Debian chromium) holding the call,
// with the CRM answering in 0 ms and 150 ms, at 1 and 200 concurrent ringing calls, plus a 10x
// burst (2000 at once). The connector's share is total minus the CRM's latency. The baseline, run
// on the same machine in the same run, is a bare Redis publish -> SSE relay (screen-pop-baseline.mjs).
//
//   npm run bench:screen-pop        (builds first; needs Redis and /usr/bin/chromium)
//   BENCH_ROUNDS=5 BENCH_CONCURRENCY=250 npm run bench:screen-pop
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Redis from 'ioredis';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const { signAgentToken } = require('../dist/screen-pop/agent-token.js');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const popConcurrency = Number(process.env.BENCH_CONCURRENCY ?? 250);
// BENCH_ONLY=ringing,single,burst,burst2000 and BENCH_LATENCIES=0,150 run only those scenarios
// and CRM latencies (default: all of them).
const topology = process.env.BENCH_TOPOLOGY ?? 'all';
const only = new Set((process.env.BENCH_ONLY ?? 'ringing,ringgroup,single,burst,burst2000').split(','));
const TOKEN = 'bench-ingest-token';
const SECRET = 'bench-agent-link-secret';
const now = () => performance.timeOrigin + performance.now();

// ---- set-up: contacts, config ----------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'vncc-bench-pop-'));
const MAX_CALLS = 2000;
// BENCH_ONLY=ringgroup: 200 calls ringing at once, each on a ring group of GROUP extensions.
const GROUP = 5;
const numberOf = (i) => `001555${String(3000000 + i).padStart(7, '0')}`;
writeFileSync(join(dir, 'contacts.csv'), `id,name,company,phone\n${Array.from({ length: MAX_CALLS }, (_, i) => `c-${i},Caller ${i},Company ${i % 50},+1 555 ${String(3000000 + i).slice(0, 3)} ${String(3000000 + i).slice(3)}`).join('\n')}\n`);
writeFileSync(
  join(dir, 'connector.yaml'),
  `workers: { screenPopConcurrency: ${popConcurrency} }
connections:
  bench: { type: file, contactsCsv: contacts.csv, callLogFile: calls.jsonl, country: US, cache: { hitSeconds: 0, missSeconds: 0 } }
mappings:
  defaults: { connection: bench, country: US, actions: { logAnswered: false, logMissed: false } }
`,
);
const ext = (i) => `0003*${1000 + i}`;

const children = [];
/** Starts a server on a free port; it reports the port (connector: its `started` log line; baseline: IPC). */
function start(script, prefix, env = {}) {
  return new Promise((done, fail) => {
    const child = fork(resolve(root, script), [], {
      cwd: root,
      // e.g. BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the servers (not allowed in NODE_OPTIONS).
      execArgv: process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : process.execArgv,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', REDIS_URL: redisUrl, REDIS_PREFIX: prefix, INGEST_TOKEN: TOKEN, AGENT_LINK_SECRET: SECRET, CONFIG_FILE: join(dir, 'connector.yaml'), LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', ...env },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    children.push(child);
    const timer = setTimeout(() => fail(new Error(`${script} did not start`)), 30_000);
    const ready = (port) => {
      clearTimeout(timer);
      done({ child, base: `http://127.0.0.1:${port}` });
    };
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`${script} exited with ${code}`)));
    child.on('message', (m) => m?.port && ready(m.port));
    let out = '';
    child.stdout.on('data', (chunk) => {
      if (out === null) return; // started: the rest of the log is drained and dropped
      out += chunk;
      const line = out.split('\n').find((l) => l.includes('"event":"started"'));
      if (line) {
        out = null;
        ready(JSON.parse(line).port);
      }
    });
  });
}
const stop = ({ child }) => new Promise((r) => (child.exitCode !== null ? r() : (child.removeAllListeners('exit'), child.once('exit', r), child.kill('SIGTERM'))));

// ---- observers: SSE clients (Node) and agent pages (chromium) ------------------------------------
/** Opens an SSE stream and calls onUpdate(callId, lookupStatus, at) for every update. */
async function sse(url, onUpdate) {
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let ready;
  const isReady = new Promise((r) => (ready = r));
  (async () => {
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ done: true }));
      if (done) return;
      const at = now();
      buf += value;
      let cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        if (block.includes('event: ready')) ready();
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        if (data && block.includes('event: update')) {
          const u = JSON.parse(data.slice(6));
          onUpdate(u.record.callId, u.lookup?.status, at, u);
        }
      }
    }
  })();
  await isReady;
  return () => abort.abort();
}

/** Records, in the page, when each call first appears in the card or the recent list. */
function pageProbe() {
  const w = globalThis;
  w.__rendered = {};
  const scan = () => {
    const at = performance.timeOrigin + performance.now();
    for (const el of w.document.querySelectorAll('[data-call]')) {
      const key = el.dataset.call;
      if (!(key in w.__rendered) && el.textContent.includes('Caller ')) w.__rendered[key] = at;
    }
  };
  w.addEventListener('DOMContentLoaded', () => new MutationObserver(scan).observe(w.document.body, { subtree: true, childList: true, characterData: true, attributes: true }));
}

async function observers(kind, base, calls, browser) {
  const seen = new Map(); // callId -> first final update time
  const stamps = new Map(); // callId -> the connector's own stamps: event received (startedAt), update published
  // Keyed by call and extension: a ring-group call pops on every member's card.
  const onUpdate = (callId, status, at, u) => {
    const key = `${callId}|${u.record.extension}`;
    if (status === 'pending' || seen.has(key)) return;
    seen.set(key, at);
    if (u.publishedAt) stamps.set(key, { received: u.record.startedAt, published: u.publishedAt });
  };
  const perClient = calls >= 1000 ? 50 : 1; // a burst watches through agents on 50 lines each (links allow 50)
  const closers = [];
  for (let i = 0; i < calls; i += perClient) {
    const exts = Array.from({ length: Math.min(perClient, calls - i) }, (_, k) => ext(i + k));
    const url = kind === 'baseline' ? `${base}/stream?ext=${encodeURIComponent(exts.join(','))}` : `${base}/agent/stream?token=${signAgentToken(SECRET, exts).token}`;
    closers.push(await sse(url, onUpdate));
  }
  const pages = [];
  if (browser && calls <= 200) {
    const context = await browser.newContext();
    await context.addInitScript(pageProbe);
    for (let i = 0; i < calls; i += 50) {
      const page = await context.newPage();
      const exts = Array.from({ length: Math.min(50, calls - i) }, (_, k) => ext(i + k));
      await page.goto(`${base}/agent?token=${signAgentToken(SECRET, exts).token}`);
      await page.locator('#connection[data-state="live"]').waitFor({ timeout: 15_000 });
      pages.push(page);
    }
    closers.push(() => context.close());
  }
  const rendered = async () => Object.assign({}, ...(await Promise.all(pages.map((p) => p.evaluate(() => globalThis.__rendered)))));
  return { seen, stamps, rendered, close: () => Promise.all(closers.map((c) => c())) };
}

// ---- one scenario ---------------------------------------------------------------------------------
/** CPU time (user + system) a process has used, in ms, from /proc (Linux); undefined elsewhere. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

async function scenario({ kind, base, calls, latencyMs, rounds: n, browser, ringSeconds, procs = [], group = 1 }) {
  const obs = await observers(kind, base, calls * group, browser);
  const cpuBefore = procs.map((p) => cpuMs(p.child.pid));
  let sentTotal = 0;
  const sseMs = [];
  const cardMs = [];
  const parts = { ingest: [], worker: [], fanout: [] };
  let lost = 0;
  let refused = 0;
  for (let r = 0; r < n; r += 1) {
    const sent = new Map();
    // A burst sends every Dial-In at once; `ringSeconds` paces them instead, so `calls` calls are
    // ringing at any moment (each agent's phone rings ringSeconds, then the next call comes in).
    const pace = ringSeconds ? (ringSeconds * 1000) / calls : 0;
    const started = now();
    await Promise.all(
      Array.from({ length: ringSeconds ? calls * 2 : calls }, async (_, j) => {
        if (pace) await new Promise((w) => setTimeout(w, Math.max(0, started + j * pace - now())));
        const i = j % calls;
        const callId = `b${randomBytes(5).toString('hex')}`;
        // A ring group: the same CallID rings `group` extensions, a Dial-In each, as VoipNow sends them.
        await Promise.all(
          Array.from({ length: group }, async (_, k) => {
            const line = ext(i * group + k);
            const body = new URLSearchParams({ CallID: callId, CallerIDNum: numberOf(i), CallerIDNam: 'Bench', CalledExtension: line, CallFlow: 'IN', CallStatus: 'CALLING' });
            const key = `${callId}|${line}`;
            sent.set(key, { at: now(), key });
            const res = await fetch(kind === 'baseline' ? `${base}/event` : `${base}/voipnow/events/dial-in?token=${TOKEN}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }).catch(() => undefined);
            // A refused event (503: Redis did not take it within the ingest deadline) is a pop that never
            // comes; so is a request the server cut (REQUEST_TIMEOUT_MS passed before it was read, on an overloaded machine).
            if (!res || res.status === 503) return refused++, sent.delete(key);
            if (res.status !== 202) throw new Error(`${kind}: ${res.status} ${await res.text()}`);
          }),
        );
      }),
    );
    sentTotal += sent.size;
    const deadline = Date.now() + 15_000;
    while ([...sent.keys()].some((id) => !obs.seen.has(id)) && Date.now() < deadline) await new Promise((w) => setTimeout(w, 20));
    await new Promise((w) => setTimeout(w, obs.rendered ? 300 : 0));
    const rendered = await obs.rendered();
    for (const [callId, { at, key }] of sent) {
      if (!obs.seen.has(callId)) lost += 1;
      else sseMs.push(obs.seen.get(callId) - at);
      const st = obs.stamps.get(callId);
      if (st) {
        // Where the time goes, by the connector's own clock (same machine): request -> event stamped
        // at ingest, -> update published by the worker (CRM latency included), -> SSE message read here.
        parts.ingest.push(st.received - at);
        parts.worker.push(st.published - st.received);
        parts.fanout.push(obs.seen.get(callId) - st.published);
      }
      if (rendered[key] !== undefined) cardMs.push(rendered[key] - at);
    }
    await new Promise((w) => setTimeout(w, 500)); // let the previous round's tail settle
  }
  // Server CPU per call (request, job, fan-out; the observers' idle streams cost next to nothing).
  const cpuPerCall = Object.fromEntries(procs.map((p, i) => [p.name, +((cpuMs(p.child.pid) - cpuBefore[i]) / Math.max(1, sentTotal)).toFixed(2)]).filter(([, v]) => Number.isFinite(v)));
  await obs.close();
  const share = (list) => list.map((v) => v - latencyMs);
  const result = { kind, ringSeconds, group, calls, latencyMs, samples: sseMs.length, refused, lost, cpuMsPerCall: cpuPerCall, sse: stats(sseMs), sseShare: stats(share(sseMs)), card: stats(cardMs), cardShare: stats(share(cardMs)), ...(parts.worker.length ? { breakdown: { ingest: stats(parts.ingest), worker: stats(parts.worker), fanout: stats(parts.fanout) } } : {}) };
  console.error(JSON.stringify(result));
  return result;
}

function stats(list) {
  if (!list.length) return undefined;
  const s = [...list].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  return { p50: +at(0.5).toFixed(1), p99: +at(0.99).toFixed(1), max: +s.at(-1).toFixed(1) };
}

// ---- run ----------------------------------------------------------------------------------------
if (!existsSync('/usr/bin/chromium')) throw new Error('Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium).');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
const prefix = `bench${randomBytes(3).toString('hex')}`;
const results = [];
try {
  const baseline = await start('bench/screen-pop-baseline.mjs', `${prefix}b`);
  for (const latencyMs of (process.env.BENCH_LATENCIES ?? '0,150').split(',').map(Number)) {
    const env = { BENCH_CRM_LATENCY_MS: String(latencyMs) };
    // BENCH_TOPOLOGY=split: one ROLE=api process (ingest, pages) and one ROLE=worker process on the
    // same Redis prefix, as a deployment for bursts runs them; default: one ROLE=all process.
    const split = topology === 'split';
    const connector = await start('bench/screen-pop-connector.mjs', `${prefix}c${latencyMs}`, { ...env, ROLE: split ? 'api' : 'all' });
    const worker = split ? await start('bench/screen-pop-connector.mjs', `${prefix}c${latencyMs}`, { ...env, ROLE: 'worker' }) : undefined;
    const { base } = connector;
    const procs = [{ name: split ? 'api' : 'all', child: connector.child }, ...(worker ? [{ name: 'worker', child: worker.child }] : [])];
    await scenario({ kind: 'connector', base, procs, calls: 20, latencyMs, rounds: 1, browser: undefined }); // warm-up
    // 200 calls ringing at once in steady state: a new Dial-In every 50 ms, each ringing 10 s.
    if (only.has('ringing')) {
      if (latencyMs === 0) results.push(await scenario({ kind: 'baseline', base: baseline.base, procs: [{ name: 'relay', child: baseline.child }], calls: 200, latencyMs: 0, rounds: 1, browser: undefined, ringSeconds: 10 }));
      results.push(await scenario({ kind: 'connector', base, procs, calls: 200, latencyMs, rounds: 1, browser: undefined, ringSeconds: 10 }));
    }
    // The same 200 calls ringing, each on a group of 5 extensions (1000 cards): the ring-group
    // work (legs noted, other members told who answered) must not slow the pop.
    if (only.has('ringgroup')) {
      if (latencyMs === 0) results.push(await scenario({ kind: 'baseline', base: baseline.base, procs: [{ name: 'relay', child: baseline.child }], calls: 200, latencyMs: 0, rounds: 1, browser: undefined, ringSeconds: 10, group: GROUP }));
      results.push(await scenario({ kind: 'connector', base, procs, calls: 200, latencyMs, rounds: 1, browser: undefined, ringSeconds: 10, group: GROUP }));
    }
    for (const calls of [1, 200]) {
      if (!only.has(calls === 1 ? 'single' : 'burst')) continue;
      const n = calls === 1 ? rounds * 10 : rounds;
      if (latencyMs === 0) results.push(await scenario({ kind: 'baseline', base: baseline.base, procs: [{ name: 'relay', child: baseline.child }], calls, latencyMs: 0, rounds: n, browser: undefined }));
      results.push(await scenario({ kind: 'connector', base, procs, calls, latencyMs, rounds: n, browser }));
    }
    if (latencyMs === 150 && only.has('burst2000')) {
      results.push(await scenario({ kind: 'baseline', base: baseline.base, procs: [{ name: 'relay', child: baseline.child }], calls: 2000, latencyMs: 0, rounds: 1, browser: undefined }));
      results.push(await scenario({ kind: 'connector', base, procs, calls: 2000, latencyMs, rounds: 1, browser: undefined }));
    }
    await stop(connector);
    if (worker) await stop(worker);
  }
  await stop(baseline);
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await browser.close();
  const redis = new Redis(redisUrl);
  // SCAN, not KEYS: the Redis may be shared, and KEYS blocks it for everyone while it walks every key.
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}

const base = (calls, ringSeconds, group) => results.find((r) => r.kind === 'baseline' && r.calls === calls && r.ringSeconds === ringSeconds && r.group === group);
console.log(JSON.stringify({ machine: `${cpus().length} cores, Node ${process.version}`, topology, screenPopConcurrency: popConcurrency, rounds, results }, null, 2));
console.log('\n| run | CRM ms | calls | SSE p50 / p99 / max ms | connector share at SSE p50 / p99 | card rendered p50 / p99 ms | share at card p99 | refused (503 or cut) / lost | p99 vs baseline | server CPU ms per call |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const b = r.kind === 'connector' && base(r.calls, r.ringSeconds, r.group);
  const ratio = b ? `${(r.sseShare.p99 / b.sse.p99).toFixed(1)}x` : '';
  console.log(`| ${r.kind}${r.ringSeconds ? ' (ringing, paced)' : ''}${r.group > 1 ? `, groups of ${r.group}` : ''} | ${r.latencyMs} | ${r.calls} | ${r.sse.p50} / ${r.sse.p99} / ${r.sse.max} | ${r.sseShare.p50} / ${r.sseShare.p99} | ${r.card ? `${r.card.p50} / ${r.card.p99}` : '-'} | ${r.cardShare ? r.cardShare.p99 : '-'} | ${r.refused} / ${r.lost} | ${ratio} | ${Object.entries(r.cpuMsPerCall ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')} |`);
}

console.log('\nWhere the connector\'s time goes (p50 / p99 ms): request -> event stamped at ingest | -> update published by the worker (CRM latency included) | -> SSE message read');
for (const r of results.filter((x) => x.breakdown)) {
  const f = (x) => `${x.p50} / ${x.p99}`;
  console.log(`- CRM ${r.latencyMs} ms, ${r.calls} calls: ingest ${f(r.breakdown.ingest)} | worker ${f(r.breakdown.worker)} | fan-out ${f(r.breakdown.fanout)}`);
}
