// The baseline for bench/screen-pop.mjs: the least a screen pop can cost over the same hops.
// POST /event publishes the form's CallID on a Redis channel per extension and answers 202; one
// Redis subscriber relays each message to the SSE clients of that extension (GET /stream?ext=a,b).
// No queue, no call state, no lookup, no signing: what is left is HTTP in, Redis, SSE out.
import { createServer } from 'node:http';
import Redis from 'ioredis';

const port = Number(process.env.PORT);
const prefix = process.env.REDIS_PREFIX;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const pub = new Redis(redisUrl);
const sub = new Redis(redisUrl);
const clients = new Map(); // extension -> Set<response>
let seq = 0;

await sub.psubscribe(`${prefix}:b:*`);
sub.on('pmessage', (_pattern, channel, message) => {
  const ext = channel.slice(prefix.length + 3);
  seq += 1;
  for (const res of clients.get(ext) ?? []) res.write(`id: ${seq}\nevent: update\ndata: ${message}\n\n`);
});

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'GET' && url.pathname === '/stream') {
    const exts = (url.searchParams.get('ext') ?? '').split(',').filter(Boolean);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('event: ready\ndata: {}\n\n');
    for (const e of exts) (clients.get(e) ?? clients.set(e, new Set()).get(e)).add(res);
    req.on('close', () => exts.forEach((e) => clients.get(e)?.delete(res)));
    return;
  }
  if (req.method === 'POST' && url.pathname === '/event') {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const form = new URLSearchParams(body);
      const ext = form.get('CalledExtension');
      await pub.publish(`${prefix}:b:${ext}`, JSON.stringify({ record: { callId: form.get('CallID'), extension: ext }, lookup: { status: 'done' } }));
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}');
    });
    return;
  }
  res.writeHead(404).end();
});
server.listen(port, '127.0.0.1', () => process.send?.({ port: server.address().port }));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  pub.disconnect();
  sub.disconnect();
  process.exit(0);
});
