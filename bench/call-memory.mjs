// Redis memory a call keeps: the built connector (shipped example config, file CRM, defaults
// otherwise) takes CALLS answered inbound calls (Dial-In, Answer, Hangup), logs each one, and the
// script then reads what every key under the run's own prefix holds (MEMORY USAGE), grouped by
// key family, divided by the number of calls.
//
//   npm run bench:call-memory                     (builds first; needs Redis on REDIS_URL or 127.0.0.1:6379)
//   BENCH_CALLS=2000 npm run bench:call-memory
//   BENCH_CONNECTOR=/path/to/other/dist/main.js ...   (measure another build the same way)
//
// Each family is listed with how long the code keeps it (see RETENTION); the totals are per call by
// retention (calls.recordTtlHours, the 30-day markers, what goes within a day), and a steady-state
// estimate for BENCH_CALLS_PER_DAY (100,000 by default): per-call bytes times the calls that arrive
// while they are kept, plus what is capped by count.
// The key families are the part of the key after the prefix up to the first id (e.g.
// `screen-pop:<job id>` → `screen-pop:job`); MEMORY USAGE counts the key, its value and Redis's
// per-key overhead (the hash/set/listpack encodings included), not the allocator's fragmentation.
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Redis from 'ioredis';
import { parseDocument } from 'yaml';
import { root, sleep, startConnector, stop } from './support.mjs';

const calls = Number(process.env.BENCH_CALLS ?? 500);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const entry = process.env.BENCH_CONNECTOR ? resolve(process.env.BENCH_CONNECTOR) : undefined;
const token = 'bench-memory-token-0123456789';
const prefix = `{vncc-mem-${randomBytes(3).toString('hex')}}`;
const port = 20_000 + Math.floor(Math.random() * 20_000);

/** The shipped config, with its file CRM's contacts and call log in `dir` (never the repo's var/). */
function configIn(dir) {
  const shipped = join(root, 'config/connector.yaml');
  const doc = parseDocument(readFileSync(shipped, 'utf8'));
  copyFileSync(join(root, 'config/contacts.csv'), join(dir, 'contacts.csv'));
  doc.setIn(['connections', 'demo', 'contactsCsv'], 'contacts.csv');
  doc.setIn(['connections', 'demo', 'callLogFile'], 'call-log.jsonl');
  writeFileSync(join(dir, 'connector.yaml'), doc.toString());
  return join(dir, 'connector.yaml');
}

/** `<prefix>:screen-pop:dial-in-abc-0003_2A210` → `screen-pop:<id>`: the family a key belongs to. */
function family(key) {
  const parts = key.slice(prefix.length + 1).split(':');
  const named = [];
  for (const part of parts) {
    // BullMQ's fixed keys (wait, completed, events, meta, ...) and our own names are lowercase words.
    if (/^[a-z][a-z-]*$/.test(part) && named.length < 3 && !/\d/.test(part)) named.push(part);
    else {
      named.push('<id>');
      break;
    }
  }
  return named.join(':');
}

/**
 * How long each family is kept, in days, as the code sets it with default settings (the TTLs and
 * BullMQ's removeOnComplete ages): what a key costs at steady state is its bytes times the calls
 * that arrive while it is kept. `null`: capped by count or a fixed size, not per call.
 */
const RETENTION = [
  [/^(call|legs|answered|wrap-up):<id>$/, 2, 'calls.recordTtlHours (48 h)'],
  [/^(logged|log-claim|follow-up):/, 30, '30 days (exactly-once markers)'],
  [/^call-log:<id>$/, 1, 'completed call-log jobs, 24 h'],
  [/^screen-pop:<id>$/, 1 / 24, 'completed pop jobs, 1 h'],
  [/^updates-once:<id>$/, 2 / 1440, 'update dedupe, 2 min'],
  [/^updates-log:<id>$/, 1 / 1440, "agents' replay streams, 1 min"],
  [/^lookup:/, null, 'lookup cache, per number'],
  [/./, null, 'bounded: BullMQ bookkeeping, recent-calls list (count-capped)'],
];
const retentionOf = (f) => RETENTION.find(([re]) => re.test(f));
const perDay = Number(process.env.BENCH_CALLS_PER_DAY ?? 100_000);

const send = async (type, params) => {
  const res = await fetch(`http://127.0.0.1:${port}/voipnow/events/${type}?token=${token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
  if (res.status !== 202) throw new Error(`${type}: HTTP ${res.status} ${await res.text()}`);
};

const dir = mkdtempSync(join(tmpdir(), 'vncc-bench-memory-'));
const redis = new Redis(redisUrl);
let child;
try {
  const env = {
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    INGEST_TOKEN: token,
    ADMIN_TOKEN: 'bench-admin-token-0123456789',
    AGENT_LINK_SECRET: 'bench-link-secret-0123456789',
    CONFIG_FILE: configIn(dir),
    SECRETS_DIR: join(dir, 'secrets'),
    SPOOL_DIR: join(dir, 'spool'),
  };
  child = await startConnector(env, { port, ...(entry ? { entry } : {}) });
  // The health probe's and the start's own keys are there before any call: measured apart.
  const numbers = ['+15551234567', '+442071234567', '+15559876543', '+33142685300', '+4930901820'];
  const t0 = Date.now();
  for (let i = 0; i < calls; i += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, calls - i) }, async (_, j) => {
        const n = i + j;
        const base = {
          CallID: `mem${n.toString(36)}-${randomBytes(6).toString('hex')}`,
          CallerIDNum: numbers[n % numbers.length],
          CallerIDNam: 'Jane Roe',
          CalledDID: '+3222222222',
          CalledExtension: '0003*210',
          CallFlow: 'IN',
          CalledNumber: '+3222222222',
        };
        await send('dial-in', { ...base, CallStatus: 'CALLING' });
        await send('answer-in', { ...base, CallStatus: 'ANSWER' });
        await send('hangup', { ...base, CallStatus: 'ANSWER' });
      }),
    );
  }
  // Every call logged: the file CRM's call log has one line per call.
  const deadline = Date.now() + 120_000 + calls * 50;
  let logged = 0;
  while (Date.now() < deadline) {
    try {
      logged = readFileSync(join(dir, 'call-log.jsonl'), 'utf8').split('\n').filter(Boolean).length;
    } catch {}
    const active = await redis.llen(`${prefix}:call-log:active`);
    const delayed = await redis.zcard(`${prefix}:call-log:delayed`);
    const waiting = await redis.llen(`${prefix}:call-log:wait`);
    if (logged >= calls && active + delayed + waiting === 0) break;
    await sleep(250);
  }
  if (logged < calls) throw new Error(`only ${logged} of ${calls} calls were logged in time`);
  await sleep(500);

  const byFamily = new Map();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    const sizes = await Promise.all(keys.map((k) => redis.memory('USAGE', k, 'SAMPLES', '0')));
    keys.forEach((k, i) => {
      const f = family(k);
      const entry = byFamily.get(f) ?? { keys: 0, bytes: 0 };
      entry.keys += 1;
      entry.bytes += Number(sizes[i] ?? 0);
      byFamily.set(f, entry);
    });
  } while (cursor !== '0');

  const rows = [...byFamily.entries()].sort((a, b) => b[1].bytes - a[1].bytes);
  console.log(`${calls} calls (Dial-In, Answer, Hangup; file CRM; default settings) sent and logged in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log('');
  console.log(`${'family'.padEnd(26)} ${'keys'.padStart(6)} ${'bytes'.padStart(10)} ${'per call'.padStart(9)}  kept`);
  for (const [f, e] of rows) console.log(`${f.padEnd(26)} ${String(e.keys).padStart(6)} ${String(e.bytes).padStart(10)} ${(e.bytes / calls).toFixed(0).padStart(9)}  ${retentionOf(f)[2]}`);
  const perCall = (pred) => rows.filter(([f]) => pred(retentionOf(f))).reduce((sum, [, e]) => sum + e.bytes, 0) / calls;
  const steady = rows.reduce((sum, [f, e]) => sum + (retentionOf(f)[1] === null ? e.bytes : (e.bytes / calls) * perDay * retentionOf(f)[1]), 0);
  console.log('');
  console.log(`kept per call for calls.recordTtlHours (48 h): ${(perCall(([, days]) => days === 2) / 1024).toFixed(2)} KB`);
  console.log(`kept per call for 30 days (markers):           ${(perCall(([, days]) => days === 30) / 1024).toFixed(2)} KB`);
  console.log(`kept per call for a day or less (jobs, pages): ${(perCall(([, days]) => days !== null && days <= 1) / 1024).toFixed(2)} KB`);
  console.log(`steady state at ${perDay} calls a day: ~${(steady / 1024 ** 3).toFixed(2)} GB (per-call bytes × calls kept; BENCH_CALLS_PER_DAY to change)`);
} finally {
  await stop(child);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
