// The connector (built dist/, ROLE=all) against a fake HubSpot, measuring what issue #3 asks:
//  1. CRM requests per logged call, with the lookup cache on, and with it off as the baseline;
//  2. lookup latency added by the connector over the fake CRM's own latency, cache cold and warm.
// The fake is the one the tests use (test/fakes/fake-hubspot.ts), compiled on the fly with SWC.
//
//   npm run bench:crm                  (builds first; needs Redis on REDIS_URL or 127.0.0.1:6379)
//   BENCH_CALLS=100 BENCH_SAMPLES=200 BENCH_CRM_LATENCY_MS=20 npm run bench:crm
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { loadFake, startConnector } from './support.mjs';

const CALLS = Number(process.env.BENCH_CALLS ?? 100);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const CRM_LATENCY_MS = Number(process.env.BENCH_CRM_LATENCY_MS ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const port = Number(process.env.BENCH_PORT ?? 3911);
const ingestToken = 'bench-ingest-token';
const adminToken = 'bench-admin-token';
const hsToken = 'pat-test-token';
const prefix = `benchcrm${randomBytes(3).toString('hex')}`;
const loadAtStart = loadavg().map((l) => +l.toFixed(1));
const work = mkdtempSync(join(tmpdir(), 'vncc-bench-crm-'));

const number = (i) => `0015553${String(i).padStart(6, '0')}`;
/** The same number as a person typed it into HubSpot: (555) 300-0042. */
const stored = (i) => `(555) 3${String(i).padStart(6, '0').slice(0, 2)}-${String(i).padStart(6, '0').slice(2)}`;

const startCrmConnector = (configFile) =>
  startConnector({ REDIS_URL: redisUrl, REDIS_PREFIX: prefix, INGEST_TOKEN: ingestToken, ADMIN_TOKEN: adminToken, HS_TOKEN: hsToken, CONFIG_FILE: configFile }, { port });

/** Call updates by CallID, from the agent-page channel; `next(callId, test)` waits for one. */
function watchUpdates(sub) {
  const seen = new Map();
  const waiters = [];
  sub.on('pmessage', (_p, _c, message) => {
    const u = JSON.parse(message);
    (seen.get(u.record.callId) ?? seen.set(u.record.callId, []).get(u.record.callId)).push(u);
    for (const w of [...waiters]) if (w.callId === u.record.callId && w.test(u)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(u));
  });
  return (callId, test, ms = 30_000) => {
    const found = seen.get(callId)?.find(test);
    if (found) return Promise.resolve(found);
    return new Promise((res, rej) => {
      const w = { callId, test, resolve: (u) => (clearTimeout(timer), res(u)) };
      const timer = setTimeout(() => (waiters.splice(waiters.indexOf(w), 1), rej(new Error(`no update for call ${callId} within ${ms} ms`))), ms);
      waiters.push(w);
    });
  };
}

/** Sends one event; a 503 (Redis busy on a loaded machine) is sent again, as its Retry-After invites. */
async function send(type, params) {
  const query = new URLSearchParams({ token: ingestToken, ...params });
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`http://127.0.0.1:${port}/voipnow/events/${type}?${query}`);
    if (res.status === 202) return;
    if (res.status !== 503 || attempt === 5) throw new Error(`${type} answered ${res.status}: ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 500 * attempt));
  }
}

/**
 * One answered inbound call as VoipNow sends it, each event after the card showed the previous
 * one (a phone rings and a call lasts longer than a lookup), then waits until it is logged.
 */
async function call(next, org, i) {
  const callId = `${Date.now()}.${randomBytes(4).toString('hex')}`;
  const params = { CallID: callId, CallerIDNum: number(i), CallerIDNam: 'BENCH', CalledDID: '+3222222222', CalledExtension: `${org}*210`, CalledNumber: '+3222222222', CallFlow: 'IN' };
  await send('dial-in', { ...params, CallStatus: 'CALLING' });
  await next(callId, (u) => u.event === 'dial-in' && u.lookup?.status !== 'pending');
  await send('answer-in', params);
  await next(callId, (u) => u.event === 'answer-in');
  await send('hangup', { ...params, CallStatus: 'ANSWER' });
  await next(callId, (u) => u.event === 'hangup' && u.lookup);
  await next(callId, (u) => u.activity);
}

async function pool(items, fn, concurrency = CONCURRENCY) {
  const queue = [...items];
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (queue.length) await fn(queue.shift());
  }));
}

/** Requests the fake received while `run` ran, by kind, per logged call. */
async function countRequests(fake, calls, run) {
  const before = fake.requests.length;
  await run();
  const reqs = fake.requests.slice(before);
  const kind = (r) =>
    r.path === '/crm/v3/objects/contacts/search' ? 'contactSearch'
      : r.path === '/crm/v3/objects/calls/search' ? 'callSearch'
        : r.path.startsWith('/crm/v3/objects/calls') && r.method === 'POST' ? 'callCreate'
          : 'other';
  const by = { contactSearch: 0, callSearch: 0, callCreate: 0, other: 0 };
  for (const r of reqs) by[kind(r)] += 1;
  const per = (n) => +(n / calls).toFixed(2);
  return { calls, requests: reqs.length, perCall: per(reqs.length), contactSearchesPerCall: per(by.contactSearch), callSearchesPerCall: per(by.callSearch), createsPerCall: per(by.callCreate), otherPerCall: per(by.other) };
}

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return +s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)].toFixed(2);
};
const stats = (xs) => ({ p50: percentile(xs, 50), p90: percentile(xs, 90), p99: percentile(xs, 99) });

async function timed(fn) {
  const t0 = performance.now();
  const out = await fn();
  return [performance.now() - t0, out];
}

const { startFakeHubSpot } = loadFake(work, 'fake-hubspot');
const cached = await startFakeHubSpot();
const uncached = await startFakeHubSpot();
for (const fake of [cached, uncached]) for (let i = 0; i < 400; i++) fake.addContact({ firstname: `Caller${i}`, lastname: 'Bench', phone: stored(i) });
const configFile = join(work, 'connector.yaml');
// A budget well above the bench's rate: it measures requests and latency, not HubSpot's throttling.
writeFileSync(
  configFile,
  `calls: { hangupSettleMs: 100 }
connections:
  cached: { type: hubspot, basePath: "${cached.url}", auth: { flow: private-app, tokenEnv: HS_TOKEN }, rateLimit: { requests: 1000, perSeconds: 1 } }
  uncached: { type: hubspot, basePath: "${uncached.url}", auth: { flow: private-app, tokenEnv: HS_TOKEN }, rateLimit: { requests: 1000, perSeconds: 1 }, cache: { hitSeconds: 0, missSeconds: 0 } }
mappings:
  organisations:
    "0003*": { connection: cached, country: US, owner: { id: "77" } }
    "0005*": { connection: uncached, country: US, owner: { id: "77" } }
`,
);

const connector = await startCrmConnector(configFile);
const sub = new Redis(redisUrl);
await sub.psubscribe(`${prefix}:updates:*`);
const next = watchUpdates(sub);
try {
  // One call each first: account info and the call-key property are fetched once per process.
  await Promise.all([call(next, '0003', 399), call(next, '0005', 399)]);

  // Every call from a caller not seen before, then the same callers again (the steady state of a
  // line whose customers call back); the two connections alternate so noise hits both alike.
  // CONCURRENCY calls at a time lets the call log batch its creates; one at a time it cannot.
  const fresh = Array.from({ length: CALLS }, (_, i) => i);
  const again = Array.from({ length: CALLS }, (_, i) => i % Math.max(1, Math.floor(CALLS / 4)));
  const solo = Math.max(1, Math.floor(CALLS / 4));
  const lone = Array.from({ length: solo }, (_, i) => i);
  const both = async (items, concurrency, n = items.length) => ({
    cacheOn: await countRequests(cached, n, () => pool(items, (i) => call(next, '0003', i), concurrency)),
    cacheOff: await countRequests(uncached, n, () => pool(items, (i) => call(next, '0005', i), concurrency)),
  });
  const requests = {
    newCallers: await both(fresh, CONCURRENCY),
    repeatCallers: await both(again, CONCURRENCY),
    repeatCallersOneAtATime: await both(lone, 1),
  };

  // Lookup latency: the fake answering a search directly, the connector's lookup with the cache
  // cold (it asks the fake), and again at once with it warm, interleaved, one at a time.
  cached.setLatency(CRM_LATENCY_MS);
  const searchBody = cached.requests.findLast((r) => r.path === '/crm/v3/objects/contacts/search').body;
  const lookup = (i, fresh) =>
    fetch(`http://127.0.0.1:${port}/admin/lookup`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ connection: 'cached', number: number(i), fresh }),
    }).then(async (r) => {
      const body = await r.json();
      if (r.status !== 200 || body.matches.length !== 1) throw new Error(`lookup of ${i} answered ${r.status}: ${JSON.stringify(body)}`);
      return body;
    });
  const direct = () =>
    fetch(`${cached.url}/crm/v3/objects/contacts/search`, { method: 'POST', headers: { authorization: `Bearer ${hsToken}`, 'content-type': 'application/json' }, body: JSON.stringify(searchBody) }).then((r) => r.json());
  // The same admin round trip without a lookup: what HTTP, Nest and the admin guard cost here.
  const floor = () => fetch(`http://127.0.0.1:${port}/admin/mappings/resolve?extension=0003*210`, { headers: { authorization: `Bearer ${adminToken}` } }).then((r) => r.json());
  const crm = [], cold = [], warm = [], warmServer = [], http = [];
  for (let s = 0; s < SAMPLES + 10; s++) {
    const i = 100 + (s % 300);
    const [tFloor] = await timed(floor);
    const [tDirect] = await timed(direct);
    const [tCold, c] = await timed(() => lookup(i, true));
    const [tWarm, w] = await timed(() => lookup(i, false));
    if (c.cached || !w.cached) throw new Error('the cache did not behave as the bench assumes');
    if (s < 10) continue; // warm-up
    http.push(tFloor);
    crm.push(tDirect);
    cold.push(tCold);
    warm.push(tWarm);
    warmServer.push(w.ms);
  }
  const latency = {
    crmLatencyInjectedMs: CRM_LATENCY_MS,
    samples: SAMPLES,
    fakeCrmDirect: stats(crm),
    connectorCacheCold: stats(cold),
    connectorCacheWarm: stats(warm),
    connectorCacheWarmInsideService: stats(warmServer),
    connectorHttpFloor: stats(http),
  };
  const added = (k) => +(latency.connectorCacheCold[k] - latency.fakeCrmDirect[k]).toFixed(2);
  latency.addedCold = { p50: added('p50'), p90: added('p90'), p99: added('p99') };

  const report = { machine: `${cpus().length} cores, Node ${process.version}`, loadAverageAtStart: loadAtStart, calls: CALLS, concurrency: CONCURRENCY, requests, latency };
  console.log(JSON.stringify(report, null, 2));
  const row = (name, r) => `| ${name} | ${r.perCall} | ${r.contactSearchesPerCall} | ${r.callSearchesPerCall} | ${r.createsPerCall} | ${r.otherPerCall} |`;
  console.log('\n| CRM requests per logged call | all | contact searches | call searches | creates | other |\n|---|---|---|---|---|---|');
  console.log(row(`new callers, ${CONCURRENCY} at a time, cache on`, requests.newCallers.cacheOn));
  console.log(row(`new callers, ${CONCURRENCY} at a time, cache off (baseline)`, requests.newCallers.cacheOff));
  console.log(row(`repeat callers, ${CONCURRENCY} at a time, cache on`, requests.repeatCallers.cacheOn));
  console.log(row(`repeat callers, ${CONCURRENCY} at a time, cache off (baseline)`, requests.repeatCallers.cacheOff));
  console.log(row('repeat callers, one at a time, cache on', requests.repeatCallersOneAtATime.cacheOn));
  console.log(row('repeat callers, one at a time, cache off (baseline)', requests.repeatCallersOneAtATime.cacheOff));
  console.log(`\nload average at start: ${loadAtStart.join(', ')} (${cpus().length} cores)`);
  const lrow = (name, s) => `| ${name} | ${s.p50} | ${s.p90} | ${s.p99} |`;
  console.log(`\n| lookup latency, ms (fake CRM answers after ${CRM_LATENCY_MS} ms) | p50 | p90 | p99 |\n|---|---|---|---|`);
  console.log(lrow('fake HubSpot search, asked directly (baseline)', latency.fakeCrmDirect));
  console.log(lrow('connector lookup, cache cold', latency.connectorCacheCold));
  console.log(lrow('added by the connector, cache cold', latency.addedCold));
  console.log(lrow('connector lookup, cache warm (all of it added: the CRM is not asked)', latency.connectorCacheWarm));
  console.log(lrow('  of which the lookup service itself (server-side, whole ms)', latency.connectorCacheWarmInsideService));
  console.log(lrow('connector admin round trip without a lookup (HTTP floor)', latency.connectorHttpFloor));
} finally {
  sub.disconnect();
  connector.removeAllListeners('exit');
  connector.kill('SIGTERM');
  await Promise.all([cached.close(), uncached.close()]);
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`${prefix}:*`);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  redis.disconnect();
  rmSync(work, { recursive: true, force: true });
}
