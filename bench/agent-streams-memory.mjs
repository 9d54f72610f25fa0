// Memory per open agent stream (issue #6): N agent pages' SSE streams held open against one
// connector process (ROLE=api), one link per extension as agents have them. Baseline, in the same
// run: a bare Node HTTP server holding N idle text/event-stream responses (the floor any SSE server pays).
//
//   npm run bench:streams                 (builds first; needs Redis on REDIS_URL or 127.0.0.1:6379)
//   BENCH_STREAMS=10000 npm run bench:streams
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import Redis from 'ioredis';
import { sleep, startConnector, stop } from './support.mjs';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 10_000);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const port = Number(process.env.BENCH_PORT ?? 3913);
const basePort = port + 1;
const adminToken = 'bench-admin-token';

/** Opens `n` streams from `urls(i)`; resolves once each has received its first bytes. */
async function openStreams(n, urlOf) {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const requests = [];
  for (let i = 0; i < n; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, n - i) }, (_, j) =>
        new Promise((resolve, reject) => {
          const req = http.get(urlOf(i + j), { agent }, (res) => {
            if (res.statusCode !== 200) return reject(new Error(`stream ${i + j}: ${res.statusCode}`));
            res.once('data', () => resolve());
          });
          req.on('error', reject);
          requests.push(req);
        }),
      ),
    );
  }
  return () => requests.forEach((r) => r.destroy());
}

const metric = async (name) => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1]);
};

async function main() {
  const prefix = `benchstreams${randomBytes(3).toString('hex')}`;
  const connector = await startConnector({ ROLE: 'api', REDIS_URL: redisUrl, REDIS_PREFIX: prefix, INGEST_TOKEN: 'bench-ingest', ADMIN_TOKEN: adminToken, AGENT_LINK_SECRET: randomBytes(32).toString('hex') }, { port });
  const baseline = fork(fileURLToPath(import.meta.url), ['baseline'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((r) => baseline.once('message', r));
  try {
    const tokens = [];
    for (let i = 0; i < STREAMS; i += 200) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(200, STREAMS - i) }, async (_, j) => {
          const res = await fetch(`http://127.0.0.1:${port}/admin/agent-links`, {
            method: 'POST',
            headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
            body: JSON.stringify({ extensions: [`${String(1 + Math.floor((i + j) / 1000)).padStart(4, '0')}*${(i + j) % 1000}`] }),
          });
          return new URL((await res.json()).url, 'http://x').searchParams.get('token');
        }),
      );
      tokens.push(...batch);
    }
    const measure = async () => ({ rss: await metric('vncc_process_resident_memory_bytes'), heap: await metric('vncc_nodejs_heap_size_used_bytes') });
    const baseRss = async () => JSON.parse(await (await fetch(`http://127.0.0.1:${basePort}/rss`)).text()).rss;

    await sleep(2000);
    const before = await measure();
    const baseBefore = await baseRss();
    // One side at a time: this process holds every client socket (ulimit -n).
    const closeConnector = await openStreams(STREAMS, (i) => `http://127.0.0.1:${port}/agent/stream?token=${tokens[i]}`);
    await sleep(3000);
    const after = await measure();
    const streamsGauge = await metric('vncc_agent_streams');
    const redis = new Redis(redisUrl);
    const channels = (await redis.pubsub('NUMSUB', ...[`${prefix}:updates:0001*0`])).at(1);
    redis.disconnect();
    closeConnector();
    const closeBaseline = await openStreams(STREAMS, () => `http://127.0.0.1:${basePort}/`);
    await sleep(3000);
    const baseAfter = await baseRss();
    closeBaseline();

    const kib = (bytes) => +(bytes / STREAMS / 1024).toFixed(1);
    const connectorPerStream = kib(after.rss - before.rss);
    const baselinePerStream = kib(baseAfter - baseBefore);
    console.log(
      JSON.stringify({
        streams: STREAMS,
        extensions: STREAMS,
        openStreamsGauge: streamsGauge,
        subscribersOfOneExtensionChannel: channels,
        connectorRssMiB: { before: +(before.rss / 2 ** 20).toFixed(0), after: +(after.rss / 2 ** 20).toFixed(0) },
        connectorKiBPerStream: connectorPerStream,
        connectorHeapKiBPerStream: kib(after.heap - before.heap),
        baselineKiBPerStream: baselinePerStream,
        ratioToBaseline: +(connectorPerStream / baselinePerStream).toFixed(1),
      }),
    );
  } finally {
    baseline.kill();
    await stop(connector);
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${prefix}:*`);
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
    redis.disconnect();
  }
}

if (process.argv[2] === 'baseline') {
  // The floor: hold each response open, write the SSE preamble, nothing else.
  const held = new Set();
  http
    .createServer((req, res) => {
      if (req.url === '/rss') return res.end(JSON.stringify(process.memoryUsage()));
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('retry: 1000\n\n');
      held.add(res);
      req.on('close', () => held.delete(res));
    })
    .listen(basePort, '127.0.0.1', () => process.send?.('ready'));
} else {
  await main();
}
