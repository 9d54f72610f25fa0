// CRM API economy (issue #6): call logging under load against one HubSpot connection whose
// documented rate limit (190 requests per rolling 10 s) the fake HubSpot enforces with 429s.
// Baseline, in the same run: the same connector with batching off (batch.maxSize 1), i.e. one
// search and one create per call, as a naive connector logs.
//
//   npm run bench:economy                      (builds first; needs Redis on REDIS_URL or 127.0.0.1:6379)
//   BENCH_RATE=100 BENCH_SECONDS=30 BENCH_CRM_LATENCY_MS=30 npm run bench:economy
//
// The load is Hangup events only (pops off): a screen pop's lookup is one interactive request per
// Dial-In by design, and is not what this measures.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { loadFake, percentile, sleep, startConnector, stop } from './support.mjs';

const RATE = Number(process.env.BENCH_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const LATENCY = Number(process.env.BENCH_CRM_LATENCY_MS ?? 30);
// BENCH_GROUP=5: each call rings a group of 5 extensions (one CallID, a Hangup per member: one
// ANSWER, the others CANCEL), and a third scenario logs the same calls that way. One activity per
// call means the CRM requests per logged call must not rise.
const GROUP = Number(process.env.BENCH_GROUP ?? 1);
const DRAIN_MS = Number(process.env.BENCH_DRAIN_SECONDS ?? 60) * 1000;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const port = Number(process.env.BENCH_PORT ?? 3912);
const token = 'bench-ingest-token';
const work = mkdtempSync(join(tmpdir(), 'vncc-bench-economy-'));

const number = (i) => `0015554${String(i % 100_000).padStart(6, '0')}`;

async function scenario(name, hs, batchSize, group = 1) {
  const prefix = `benchecon${randomBytes(3).toString('hex')}`;
  const configFile = join(work, `${name}.yaml`);
  writeFileSync(
    configFile,
    `calls: { hangupSettleMs: 2000 }
workers: { callLogConcurrency: 500 }
connections:
  hs:
    type: hubspot
    basePath: "${hs.url}"
    auth: { flow: private-app, tokenEnv: HS_TOKEN }
    portalId: 4242
    uiDomain: app.hubspot.com
    rateLimit: { requests: 190, perSeconds: 10 }
    batch: { maxSize: ${batchSize}, lingerMs: 250 }
mappings:
  defaults: { connection: hs, country: US, owner: { id: "77" }, actions: { popOnDialIn: false, popOnDialOut: false } }
`,
  );
  const child = await startConnector({ REDIS_URL: redisUrl, REDIS_PREFIX: prefix, INGEST_TOKEN: token, ADMIN_TOKEN: 'bench-admin', HS_TOKEN: 'pat-test-token', CONFIG_FILE: configFile }, { port });
  const firstRequest = hs.requests.length;
  const firstCall = hs.callObjects.length;
  const sentAt = new Map();
  const total = RATE * SECONDS;
  const started = performance.now();
  const t0 = Date.now();
  const refused = {};
  const refuse = (why) => (refused[why] = (refused[why] ?? 0) + 1);
  const inflight = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const callId = `${prefix}.${i}`;
    sentAt.set(callId, Date.now());
    // The member that answered hangs up last; a group's others get CANCEL at once.
    for (let k = group - 1; k >= 0; k--) {
      const body = new URLSearchParams({ CallID: callId, CallerIDNum: number(i), CalledExtension: `0003*${210 + k}`, CallFlow: 'IN', CallStatus: k === 0 ? 'ANSWER' : 'CANCEL' });
      inflight.push(
        fetch(`http://127.0.0.1:${port}/voipnow/events/hangup?token=${token}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })
          .then((r) => (r.status === 202 ? r.arrayBuffer() : (refuse(r.status), r.arrayBuffer())))
          .catch((e) => refuse(e.cause?.code ?? e.message)),
      );
    }
  }
  await Promise.all(inflight);
  const sendEnd = Date.now();
  // Wait for the backlog to drain, or give up DRAIN_MS after the last event: the naive baseline never catches up.
  const ours = () => hs.callObjects.slice(firstCall).filter((c) => String(c.properties.voipnow_call_key).startsWith(`vn-${prefix}`));
  while (ours().length < total && Date.now() - sendEnd < DRAIN_MS) await sleep(500);
  const windowEnd = Date.now();
  await stop(child);

  const calls = ours();
  const keys = new Set(calls.map((c) => c.properties.voipnow_call_key));
  const requests = hs.requests.slice(firstRequest).filter((r) => r.at <= windowEnd);
  const latencies = calls.map((c) => Date.parse(c.createdAt) - sentAt.get(c.properties.voipnow_call_key.slice(3).replace(/-0003~2A210$/, '')));
  const lastCreated = Math.max(...calls.map((c) => Date.parse(c.createdAt)));
  const redis = new Redis(redisUrl);
  const leftover = await redis.keys(`${prefix}:*`);
  for (let i = 0; i < leftover.length; i += 500) await redis.del(...leftover.slice(i, i + 500));
  redis.disconnect();
  return {
    scenario: name,
    group,
    callsSent: total,
    refused,
    callsLogged: keys.size,
    duplicates: calls.length - keys.size,
    notLoggedInWindow: total - keys.size,
    crmRequests: requests.length,
    http429: requests.filter((r) => r.status === 429).length,
    requestsPerLoggedCall: +(requests.length / Math.max(1, keys.size)).toFixed(3),
    loggedPerSecond: +(keys.size / ((Math.max(lastCreated, t0 + 1) - t0) / 1000)).toFixed(1),
    hangupToRecordP50s: +(percentile(latencies, 50) / 1000).toFixed(2),
    hangupToRecordP99s: +(percentile(latencies, 99) / 1000).toFixed(2),
  };
}

const { FakeHubSpot } = loadFake(work, 'fake-hubspot');
const hs = await new FakeHubSpot().start();
hs.setLatency(LATENCY);
hs.setRateLimit({ perWindow: 190, windowMs: 10_000 });
hs.addOwner({ id: '77', email: 'owner@example.com' });
// A third of the callers are known contacts.
for (let i = 0; i < RATE * SECONDS; i += 3) {
  const d = String(i % 100_000).padStart(6, '0');
  hs.addContact({ firstname: `Caller ${i}`, phone: `(555) 4${d.slice(0, 2)}-${d.slice(2)}` });
}
try {
  const batched = await scenario('batched', hs, 100);
  console.log(JSON.stringify(batched));
  const naive = await scenario('naive (one request per item)', hs, 1);
  console.log(JSON.stringify(naive));
  const grouped = GROUP > 1 ? await scenario(`batched, ring groups of ${GROUP}`, hs, 100, GROUP) : undefined;
  if (grouped) console.log(JSON.stringify(grouped));
  console.log(
    JSON.stringify({
      rate: RATE,
      seconds: SECONDS,
      crmLatencyMs: LATENCY,
      throughputRatio: +(batched.loggedPerSecond / naive.loggedPerSecond).toFixed(1),
      requestsPerCallRatio: +(naive.requestsPerLoggedCall / batched.requestsPerLoggedCall).toFixed(1),
      ...(grouped ? { ringGroupRequestsPerCallVsSingle: +(grouped.requestsPerLoggedCall / batched.requestsPerLoggedCall).toFixed(2), ringGroupDuplicates: grouped.duplicates } : {}),
    }),
  );
} finally {
  await hs.close();
  rmSync(work, { recursive: true, force: true });
}
